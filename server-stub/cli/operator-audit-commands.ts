// The command line's side of the operator audit (../registry/operator-audit.ts): every command that
// changes the registry makes the change through changeCli, which records it as `cli:<OS user>` from
// `cli`, in the object's organization, in the same transaction (both stored, or neither);
// `enf-server audit operator` lists the entries, newest first, with the same filters as the API's
// GET /api/v1/operator-audit.
import { userInfo } from 'node:os';
import type { Argv } from 'yargs';
import { table } from './format.ts';
import { operatorAuditView } from '../http/views.ts';
import { withRegistry, type Done, type GlobalArgs } from './cli.ts';
import { organizationId } from './org-commands.ts';
import {
  OPERATOR_OBJECT_TYPES,
  type OperatorAuditInput,
  type OperatorObjectType,
} from '../registry/operator-audit.ts';
import type { Batch, Device, Network, Registry } from '../registry/registry.ts';
import { checkInt, MAX_AUDIT_LIMIT } from '../registry/validate.ts';

/** `cli:<login name>`; the uid when the account has no passwd entry (a container's arbitrary uid). */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

export type CliAction = Omit<OperatorAuditInput, 'actor' | 'source' | 'detail'> & {
  detail?: Record<string, unknown>;
};

/**
 * Make this command's change and record it in one transaction (Registry.withOperatorAudit): `change`
 * calls only the registry, `describe` names what it changed from its result. Returns that result.
 */
export async function changeCli<T>(
  r: Registry,
  change: () => Promise<T>,
  describe: (result: T) => CliAction | Promise<CliAction>,
): Promise<T> {
  const { result } = await r.withOperatorAudit(change, async (res) => {
    const a = await describe(res);
    return { ...a, actor: cliActor(), source: 'cli', detail: a.detail ?? null };
  });
  return result;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export const networkObject = (n: Network) => ({
  organizationId: n.organizationId,
  objectType: 'network' as const,
  objectId: String(n.id),
  objectName: n.name,
});

export const batchObject = (b: Batch) => ({
  organizationId: b.organizationId,
  objectType: 'batch' as const,
  objectId: hex(b.gid),
  objectName: b.name,
});

export async function deviceObject(r: Registry, d: Device) {
  return {
    organizationId: (await r.getBatch(d.gid))?.organizationId ?? null,
    objectType: 'device' as const,
    objectId: hex(d.identity),
    objectName: null,
  };
}

/** A CA (or a certificate device of it) is in the organization of the CA's network. */
export async function caOrganization(r: Registry, networkId: number): Promise<number | null> {
  return (await r.getNetwork(networkId))?.organizationId ?? null;
}

/** `audit operator`, a subcommand of `audit` (registry-commands.ts). */
export function operatorAuditCommand(
  c: Argv<GlobalArgs>,
  done: Done,
  parseSince: (t: string, now: number) => number,
) {
  return c.command(
    'operator',
    'operator actions: who changed what, on which object, from where (newest first)',
    (o) =>
      o
        .option('since', { type: 'string', describe: 'ISO 8601 time or a duration back (30m, 2h, 7d)' })
        .option('org', { type: 'string', describe: "only this organization's entries (name or id)" })
        .option('actor', { type: 'string', describe: 'only this actor, e.g. cli:root or token-file:ci' })
        .option('action', { type: 'string', describe: 'only this action, e.g. batch.revoke' })
        .option('object-type', {
          type: 'string',
          choices: OPERATOR_OBJECT_TYPES,
          describe: 'only this kind of object (default: all)',
        })
        .option('limit', {
          type: 'number',
          default: 100,
          describe: 'at most this many entries, newest first',
        }),
    (a) =>
      withRegistry(a, async (r) => {
        const args = { ...a, 'object-type': a['object-type'] as OperatorObjectType | undefined };
        const limit = checkInt(args.limit, 'filter.limit', 1, MAX_AUDIT_LIMIT);
        const org = args.org === undefined ? undefined : await organizationId(r, args.org);
        const entries = await r.operatorAudit.query(
          {
            limit,
            ...(args.since === undefined ? {} : { since: parseSince(args.since, Date.now()) }),
            ...(args.actor === undefined ? {} : { actor: args.actor }),
            ...(args.action === undefined ? {} : { action: args.action }),
            ...(args['object-type'] === undefined ? {} : { objectType: args['object-type'] }),
          },
          org,
        );
        const rows = entries.map((e) => [
          new Date(e.at).toISOString(),
          e.organizationId,
          e.actor,
          e.action,
          `${e.objectType} ${e.objectName ?? e.objectId}`,
          e.source,
        ]);
        done({
          human: table(['TIME', 'ORG', 'ACTOR', 'ACTION', 'OBJECT', 'SOURCE'], rows),
          json: entries.map(operatorAuditView),
        });
      }),
  );
}
