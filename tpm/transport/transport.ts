// The TPM port (../../shared/STYLE.md "Boundaries"): whole command in, whole response out, one
// command in flight. Adapters: device.ts (/dev/tpmrm0), swtpm.ts (swtpm's TCP server).

export interface TpmTransport {
  /** Sends one complete command and resolves with the complete response (size field checked). */
  transmit(command: Uint8Array): Promise<Uint8Array>;
  /** Releases the device or sockets; later transmits fail. */
  close(): Promise<void>;
  /** Human-readable target, e.g. "/dev/tpmrm0" or "swtpm:127.0.0.1:2321". */
  readonly description: string;
}

/** Largest response any TPM 2.0 sends here (TPM_PT_MAX_RESPONSE_SIZE is 4096 on swtpm and chips). */
export const MAX_RESPONSE_SIZE = 8192;
