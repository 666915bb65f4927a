// The TPM client: runs one marshaled command (tpm/commands/*.ts) over a TpmTransport and parses the
// answer. Transient warnings are retried with bounded exponential backoff by resending the identical
// bytes (TCG TPM 2.0 Library Part 2, 6.6.3: TPM_RC_RETRY 0x922, TPM_RC_YIELDED 0x908,
// TPM_RC_TESTING 0x90A). The reference stack never retries, and fails on the TPM_RC_RETRY that
// libtpms answers to the first DA-protected use after each startup (traces README, surprise 1).
// Authorization is by empty password sessions (tpm/command.ts).
import { readResponseHeader, type TpmCommand } from './command.ts';
import { TPM_RC_RETRY, TPM_RC_TESTING, TPM_RC_YIELDED } from './errors.ts';
import type { TpmTransport } from './transport/transport.ts';

export const RETRYABLE_CODES: ReadonlySet<number> = new Set([TPM_RC_RETRY, TPM_RC_YIELDED, TPM_RC_TESTING]);

export interface RetryPolicy {
  /** Total attempts including the first (default 8). */
  readonly maxAttempts: number;
  /** First backoff in ms (default 20), doubled per retry up to maxDelayMs (default 1000). */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export interface RetryEvent {
  readonly command: string;
  readonly rc: number;
  readonly attempt: number;
  readonly delayMs: number;
}

export interface TpmOptions {
  readonly retry?: Partial<RetryPolicy>;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Observes each retry (logging, tests). Never given secret bytes. */
  readonly onRetry?: (e: RetryEvent) => void;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Tpm {
  private readonly policy: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly onRetry: ((e: RetryEvent) => void) | undefined;
  /** Number of retried exchanges since this client was made. */
  retries = 0;

  constructor(
    readonly transport: TpmTransport,
    opts: TpmOptions = {},
  ) {
    this.policy = { maxAttempts: 8, initialDelayMs: 20, maxDelayMs: 1000, ...opts.retry };
    if (this.policy.maxAttempts < 1) throw new RangeError('maxAttempts must be at least 1');
    this.sleep = opts.sleep ?? defaultSleep;
    this.onRetry = opts.onRetry;
  }

  get description(): string {
    return this.transport.description;
  }

  /** Sends the command, retrying transient warnings, and returns its parsed result. */
  async run<T>(cmd: TpmCommand<T>): Promise<T> {
    let delay = this.policy.initialDelayMs;
    for (let attempt = 1; ; attempt++) {
      const resp = await this.transport.transmit(cmd.bytes);
      const { rc } = readResponseHeader(resp);
      if (RETRYABLE_CODES.has(rc) && attempt < this.policy.maxAttempts) {
        this.retries++;
        this.onRetry?.({ command: cmd.name, rc, attempt, delayMs: delay });
        await this.sleep(delay);
        delay = Math.min(this.policy.maxDelayMs, delay * 2);
        continue;
      }
      return cmd.parse(resp);
    }
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
