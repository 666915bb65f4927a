// Waiting for a condition in tests: poll until it holds, failing only after a generous bound. The
// bound catches a hang; it is never a speed check (CI may run on a loaded machine, STYLE.md "Tests").

/** Polls `cond` every `pollMs` until it is true; throws naming `what` after `boundMs`. */
export async function waitUntil(
  what: string,
  cond: () => boolean | Promise<boolean>,
  { boundMs = 120_000, pollMs = 20 }: { boundMs?: number; pollMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${boundMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
