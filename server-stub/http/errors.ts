// Errors of the management HTTP API (http/README.md: JSON with a stable code and a message
// naming the field). Every failure leaves the server as `{"error":{"code","message","field"?}}` with one of
// the stable codes below; registry and decoder errors are mapped here, unknown ones become INTERNAL
// (logged inside, a generic message outside).
import { DecodeError, ZtpError } from '../../protocol/errors.ts';
import { RegistryError, ValidationError } from '../registry/errors.ts';

/** Stable API error codes and their HTTP status. */
export const API_ERRORS = {
  BAD_REQUEST: 400,
  VALIDATION: 400,
  DECODE: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
  NOT_IMPLEMENTED: 501,
  UNAVAILABLE: 503,
} as const;
export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends ZtpError {
  readonly status: number;
  readonly field: string | undefined;
  constructor(code: ApiErrorCode, message: string, field?: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = API_ERRORS[code];
    this.field = field;
  }
}

export interface ErrorBody {
  error: { code: ApiErrorCode; message: string; field?: string };
}

/** Map anything thrown by a handler to an ApiError (INTERNAL for what we did not expect). */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ValidationError)
    return new ApiError('VALIDATION', err.message, err.field, { cause: err });
  if (err instanceof DecodeError) return new ApiError('DECODE', err.message, err.field, { cause: err });
  if (err instanceof RegistryError) {
    const field = err.field;
    if (err.code === 'NOT_FOUND') return new ApiError('NOT_FOUND', err.message, field, { cause: err });
    if (err.code === 'CONFLICT') return new ApiError('CONFLICT', err.message, field, { cause: err });
    if (err.code === 'VALIDATION') return new ApiError('VALIDATION', err.message, field, { cause: err });
    // The change and its operator-audit entry are one transaction: neither was stored.
    if (field === 'operatorAudit') {
      return new ApiError(
        'UNAVAILABLE',
        'the change was not made: it could not be recorded in the operator audit',
        field,
        { cause: err },
      );
    }
    return new ApiError('UNAVAILABLE', 'registry unavailable', undefined, { cause: err });
  }
  return new ApiError('INTERNAL', 'internal error', undefined, { cause: err });
}

export function errorBody(e: ApiError): ErrorBody {
  return {
    error: { code: e.code as ApiErrorCode, message: e.message, ...(e.field ? { field: e.field } : {}) },
  };
}
