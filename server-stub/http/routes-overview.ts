// Management API: the figures the dashboard's overview draws, for one organization (the token's; a
// superadmin names one with `organization`, or sees all): devices provisioned per day, handshakes
// by outcome and refusal reason, batches against their quota, and handshakes per geolocation, over
// the last `days` days. The database does the counting (../registry/sql-overview.ts), so the answer
// is a few hundred numbers whatever the fleet's size.
import { int, onlyParams } from './body.ts';
import type { ApiContext } from './context.ts';
import { ApiError } from './errors.ts';
import { orgOf, type RequestContext, type Router } from './router.ts';

const DAY_MS = 86_400_000;
export const MAX_OVERVIEW_DAYS = 366;

/** The organization the overview is for: the token's, or the one a superadmin names (404 if none). */
async function overviewOrg(ctx: ApiContext, r: RequestContext): Promise<number | undefined> {
  const ref = r.query.get('organization');
  const own = orgOf(r);
  if (ref === null) return own;
  const o = await ctx.registry
    .getOrganization(/^[0-9]+$/.test(ref) ? Number(ref) : ref)
    .catch(() => undefined);
  if (!o || (own !== undefined && o.id !== own))
    throw new ApiError('NOT_FOUND', `organization '${ref}' not found`, 'organization');
  return o.id;
}

export function addOverviewRoutes(router: Router, ctx: ApiContext): void {
  router.add({
    method: 'GET',
    path: '/api/v1/overview',
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => {
      onlyParams(r.query, ['days', 'organization']);
      const daysText = r.query.get('days');
      const days = daysText === null ? 30 : int(daysText, 'days', 1, MAX_OVERVIEW_DAYS);
      const org = await overviewOrg(ctx, r);
      // Whole UTC days: today and the days - 1 before it.
      const since = (Math.floor(Date.now() / DAY_MS) - (days - 1)) * DAY_MS;
      const counts = await ctx.registry.overview.counts(since, org);
      const batches = await ctx.registry.listBatches(org);
      const organization =
        org === undefined ? null : ((await ctx.registry.getOrganization(org))?.name ?? null);
      return {
        status: 200,
        body: {
          organization,
          since: new Date(since).toISOString(),
          days,
          provisionedPerDay: counts.provisionedPerDay.map((d) => ({
            day: new Date(d.day).toISOString().slice(0, 10),
            count: d.count,
          })),
          handshakes: counts.handshakes,
          batches: batches.map((b) => ({
            name: b.name,
            status: b.status,
            provisioned: b.devices,
            revoked: b.revokedDevices,
            quota: b.size,
          })),
          places: counts.places,
        },
      };
    },
  });
}
