// Numbered progress lines for the demo, and the error that says which step failed and why.
// Progress goes to stderr when --json is on (stdout then carries only the JSON summary).

export class StepError extends Error {
  readonly step: number;
  readonly title: string;
  constructor(step: number, title: string, cause: unknown) {
    super(`step ${step} (${title}) failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.step = step;
    this.title = title;
  }
}

export class Progress {
  #n = 0;
  readonly #total: number;
  readonly #write: (s: string) => void;

  constructor(total: number, isJson: boolean) {
    this.#total = total;
    this.#write = isJson ? (s) => process.stderr.write(s) : (s) => process.stdout.write(s);
  }

  /** Prints free text (labels, tables) in the progress stream. */
  print(text: string): void {
    this.#write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Runs one numbered step; a failure becomes a StepError naming the step. */
  async step<T>(title: string, fn: () => Promise<T>, describe?: (r: T) => string): Promise<T> {
    const n = ++this.#n;
    const started = Date.now();
    this.#write(`[${n}/${this.#total}] ${title} ...\n`);
    try {
      const r = await fn();
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const detail = describe ? describe(r) : '';
      this.#write(`      ok (${secs} s)${detail ? `: ${detail}` : ''}\n`);
      return r;
    } catch (e) {
      throw new StepError(n, title, e);
    }
  }
}
