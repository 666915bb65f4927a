// Management API: organizations (tenants). A superadmin lists every organization and creates new
// ones; any other token sees only its own (the list holds one, another's answers 404 as if it did not
// exist). Creating an organization is recorded in the operator audit, in the new organization.
import { checkName } from '../registry/validate.ts';
import { onlyKeys, onlyParams, readJsonObject, str } from './body.ts';
import type { ApiContext } from './context.ts';
import { ApiError } from './errors.ts';
import { orgOf, type Router } from './router.ts';
import { changeRecorded } from './routes-operator-audit.ts';
import { organizationView } from './views.ts';

const API = '/api/v1';

export function addOrganizationRoutes(router: Router, ctx: ApiContext): void {
  router.add({
    method: 'GET',
    path: `${API}/organizations`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => {
      onlyParams(r.query, []);
      const org = orgOf(r);
      const all = await ctx.registry.listOrganizations();
      const items = org === undefined ? all : all.filter((o) => o.id === org);
      return { status: 200, body: { items: items.map(organizationView) } };
    },
  });
  router.add({
    method: 'POST',
    path: `${API}/organizations`,
    isAuthenticated: true,
    role: 'superadmin',
    handler: async (r) => {
      const body = await readJsonObject(r.req);
      onlyKeys(body, ['name']);
      const name = checkName(str(body, 'name', true), 'name');
      const o = await changeRecorded(
        ctx,
        r,
        () => ctx.registry.addOrganization({ name }),
        (added) => ({
          organizationId: added.id,
          objectType: 'organization',
          objectId: String(added.id),
          objectName: added.name,
          action: 'organization.add',
        }),
      );
      return { status: 201, body: organizationView(o) };
    },
  });
  router.add({
    method: 'GET',
    path: `${API}/organizations/{organization}`,
    isAuthenticated: true,
    role: 'viewer',
    handler: async (r) => {
      const ref = r.params.organization!;
      const o = await ctx.registry
        .getOrganization(/^[0-9]+$/.test(ref) ? Number(ref) : ref)
        .catch(() => undefined);
      const org = orgOf(r);
      if (!o || (org !== undefined && o.id !== org))
        throw new ApiError('NOT_FOUND', `organization '${ref}' not found`, 'organization');
      return { status: 200, body: organizationView(o) };
    },
  });
}
