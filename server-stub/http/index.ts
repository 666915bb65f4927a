// Public surface of the management interface: the HTTP(S) server and the pieces callers
// and tests need.
export { startManagementServer, buildRouter } from './management-server.ts';
export { ListenError } from '../errors.ts';
export type { ManagementServer, ManagementServerOptions } from './management-server.ts';
export { TokenAuthenticator, MIN_TOKEN_LENGTH } from './auth.ts';
export { API_ERRORS, ApiError, type ApiErrorCode } from './errors.ts';
export {
  MANAGEMENT_OPTIONS,
  checkManagementArgs,
  startManagementFromArgs,
  ManagementOptionError,
} from './cli-options.ts';
export type { ManagementArgs } from './cli-options.ts';
