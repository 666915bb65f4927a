// Errors of the enf-server program outside its registry (registry/errors.ts) and management API
// (http/errors.ts), with the stable codes exit-codes.ts maps to the documented exit codes.
import { ZtpError } from '../protocol/errors.ts';

/** A listener (the XTT endpoint or the management API) could not bind: address in use, permission. */
export class ListenError extends ZtpError {
  constructor(host: string, port: number, options: { cause: Error }) {
    super('LISTEN', `cannot listen on [${host}]:${port}: ${options.cause.message}`, options);
  }
}
