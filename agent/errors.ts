// The agent's error classes (../shared/STYLE.md "Errors"): each extends ZtpError with a stable
// `code` that agent/exit-codes.ts maps to a documented process exit code.
import { ZtpError } from '../protocol/errors.ts';

/** A configuration value is missing or invalid; `field` names it (e.g. `server.port`). */
export class ConfigError extends ZtpError {
  readonly field: string;
  constructor(field: string, reason: string, options?: { cause?: unknown }) {
    super('CONFIG', `config ${field}: ${reason}`, options);
    this.field = field;
  }
}

/** A netlink request was answered with a negative errno (NLMSG_ERROR) or the socket failed. */
export class NetlinkError extends ZtpError {
  readonly errno: number;
  readonly operation: string;
  constructor(operation: string, errno: number, reason: string, options?: { cause?: unknown }) {
    super('NETLINK', `${operation}: ${reason} (errno ${errno})`, options);
    this.operation = operation;
    this.errno = errno;
  }
}

/** The configured network interface does not exist (in this network namespace). */
export class InterfaceMissingError extends ZtpError {
  readonly ifname: string;
  constructor(ifname: string, options?: { cause?: unknown }) {
    super('INTERFACE_MISSING', `network interface ${JSON.stringify(ifname)} does not exist`, options);
    this.ifname = ifname;
  }
}

/** The stored state file exists but cannot be read back (corrupt, truncated, wrong version). */
export class StateError extends ZtpError {
  readonly path: string;
  constructor(
    path: string,
    reason: string,
    options?: { cause?: unknown; code?: 'STATE_CORRUPT' | 'STATE_EXISTS' },
  ) {
    super(options?.code ?? 'STATE_CORRUPT', `state file ${path}: ${reason}`, options);
    this.path = path;
  }
}

/** Saving refused: an identity is already stored (the first one stored is the device's for life). */
export class IdentityStoredError extends StateError {
  constructor(path: string, options?: { cause?: unknown }) {
    super(path, 'an identity is already stored; refusing to replace it', {
      ...options,
      code: 'STATE_EXISTS',
    });
  }
}

/** A wait was cut short by an AbortSignal (shutdown) or ran past its deadline. */
export class AbortedError extends ZtpError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('ABORTED', `${what}: aborted`, options);
  }
}

export class TimeoutError extends ZtpError {
  constructor(what: string, ms: number, options?: { cause?: unknown }) {
    super('TIMEOUT', `${what}: no result within ${ms} ms`, options);
  }
}

/** The network manager could not take the identity address (not running, a command failed). */
export class NetworkManagerError extends ZtpError {
  readonly manager: string;
  constructor(manager: string, reason: string, options?: { cause?: unknown }) {
    super('NETWORK_MANAGER', `${manager}: ${reason}`, options);
    this.manager = manager;
  }
}

/** A command needs the stored identity, and this device has none yet (`handoff`). */
export class NotProvisionedError extends ZtpError {
  constructor(stateDir: string, what: string) {
    super('NOT_PROVISIONED', `not provisioned (state directory ${stateDir}): ${what}`);
  }
}
