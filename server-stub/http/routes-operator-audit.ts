// Management API: the operator audit (../registry/operator-audit.ts). Handlers that change state make
// the change through changeRecorded, so the change and its entry (the principal's actor, the object,
// its organization, the client's address and time) are one registry transaction: both are stored or
// neither (an entry that cannot be written undoes the change: 503, field operatorAudit). Once
// committed the entry is published on the live event stream (`operator`) to that organization.
// GET /operator-audit lists them newest first, filtered, paged by cursor like GET /audit; reading it
// is reading (role viewer, like the handshake audit); an organization sees only its own entries.
import { OPERATOR_OBJECT_TYPES, type OperatorAuditInput } from '../registry/operator-audit.ts';
import { enumParam, int, onlyParams, timeParam } from './body.ts';
import type { ApiContext } from './context.ts';
import { ApiError } from './errors.ts';
import { orgOf, type RequestContext, type Router } from './router.ts';
import { decodeCursor, DEFAULT_PAGE, encodeCursor, MAX_PAGE } from './routes-devices.ts';
import { operatorAuditView } from './views.ts';

const API = '/api/v1';

export type RecordedAction = Omit<OperatorAuditInput, 'actor' | 'source' | 'detail'> & {
  detail?: Record<string, unknown>;
};

/**
 * Make the request's change and record it in one transaction (Registry.withOperatorAudit): `change`
 * calls only the registry (work such as password hashing comes before), `describe` names what it
 * changed from its result. A change refused by the registry records nothing. Once committed, the
 * entry is announced to the object's organization; returns the change's result.
 */
export async function changeRecorded<T>(
  ctx: ApiContext,
  r: RequestContext,
  change: () => Promise<T>,
  describe: (result: T) => RecordedAction | Promise<RecordedAction>,
): Promise<T> {
  const { result, entry } = await ctx.registry.withOperatorAudit(change, async (res) => {
    const a = await describe(res);
    return {
      ...a,
      actor: r.principal?.actor ?? 'anonymous:-',
      source: r.req.socket.remoteAddress ?? 'unknown',
      detail: a.detail ?? null,
    };
  });
  ctx.events.publish('operator', operatorAuditView(entry), entry.organizationId ?? undefined);
  return result;
}

export function addOperatorAuditRoutes(router: Router, ctx: ApiContext): void {
  router.add({
    method: 'GET',
    path: `${API}/operator-audit`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r: RequestContext) => {
      const { query } = r;
      onlyParams(query, ['since', 'until', 'actor', 'action', 'objectType', 'object', 'limit', 'cursor']);
      const since = timeParam(query, 'since');
      const until = timeParam(query, 'until');
      const objectType = enumParam(query, 'objectType', OPERATOR_OBJECT_TYPES);
      const limitText = query.get('limit');
      const limit = limitText === null ? DEFAULT_PAGE : int(limitText, 'limit', 1, MAX_PAGE);
      const before = decodeCursor('o', query.get('cursor'));
      const text = (k: string): string | undefined => {
        const v = query.get(k);
        if (v === null) return undefined;
        if (v.length === 0 || v.length > 256) throw new ApiError('VALIDATION', `${k}: 1-256 characters`, k);
        return v;
      };
      const actor = text('actor');
      const action = text('action');
      const objectId = text('object');
      // One extra row says whether another page exists.
      const rows = await ctx.registry.operatorAudit.query(
        {
          limit: limit + 1,
          ...(since !== undefined ? { since } : {}),
          ...(until !== undefined ? { until } : {}),
          ...(actor !== undefined ? { actor } : {}),
          ...(action !== undefined ? { action } : {}),
          ...(objectType !== undefined ? { objectType } : {}),
          ...(objectId !== undefined ? { objectId } : {}),
          ...(before !== undefined ? { beforeId: Number(before) } : {}),
        },
        orgOf(r),
      );
      const page = rows.slice(0, limit);
      return {
        status: 200,
        body: {
          items: page.map(operatorAuditView),
          nextCursor: rows.length > limit ? encodeCursor('o', String(page[page.length - 1]!.id)) : null,
        },
      };
    },
  });
}
