// One call at a time: each run starts after every earlier one has settled (resolved or rejected), so
// async steps over shared state (a TPM with one command in flight, a handshake consuming bytes in
// order, a synchronous database connection, a netlink socket) never interleave.

export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after the calls queued before it; its result or error goes to this caller only. */
  run<T>(fn: () => T | Promise<T>): Promise<T> {
    const next = this.#tail.then(fn);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}
