// Errors of the server's registry layer (../../shared STYLE.md "Errors": one subclass per layer,
// stable `code`, messages name the field, never secret bytes).
import { ZtpError } from '../../protocol/errors.ts';

/** Stable codes of RegistryError; main.ts maps them to exit codes. */
export const REGISTRY_ERROR_CODES = {
  VALIDATION: 'VALIDATION',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  STORAGE: 'STORAGE',
  SCHEMA: 'SCHEMA',
} as const;
export type RegistryErrorCode = (typeof REGISTRY_ERROR_CODES)[keyof typeof REGISTRY_ERROR_CODES];

/**
 * A registry operation failed: unknown record, uniqueness conflict, storage failure. `field` names
 * the input at fault when there is one (the message then starts with it: "network.name: ...").
 */
export class RegistryError extends ZtpError {
  readonly field: string | undefined;
  constructor(code: RegistryErrorCode, message: string, options?: { cause?: unknown; field?: string }) {
    super(code, options?.field === undefined ? message : `${options.field}: ${message}`, options);
    this.field = options?.field;
  }
}

/** An input was refused before touching storage; `field` names it (e.g. "network.prefix"). */
export class ValidationError extends RegistryError {
  declare readonly field: string;
  constructor(field: string, reason: string, options?: { cause?: unknown }) {
    super('VALIDATION', reason, { ...options, field });
  }
}
