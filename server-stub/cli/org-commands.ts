// `enf-server org add|list`: the organizations (tenants) of the registry, for the server's own
// operator (the superadmin side). An organization's API tokens are then bound to it in the token
// file (http/README.md); `network add --org NAME` creates a network inside it.
import type { Argv } from 'yargs';
import { table } from './format.ts';
import { changeCli } from './operator-audit-commands.ts';
import { organizationView } from '../http/views.ts';
import { withRegistry, type Done, type GlobalArgs } from './cli.ts';
import { RegistryError } from '../registry/errors.ts';
import type { Registry } from '../registry/registry.ts';

/** The id of the organization named `ref` (or numbered); NOT_FOUND naming --org if there is none. */
export async function organizationId(r: Registry, ref: string): Promise<number> {
  const o = await r.getOrganization(/^[0-9]+$/.test(ref) ? Number(ref) : ref);
  if (!o) throw new RegistryError('NOT_FOUND', `no organization '${ref}'`, { field: 'org' });
  return o.id;
}

export function registerOrg(y: Argv<GlobalArgs>, done: Done): void {
  y.command('org', 'organizations (tenants): each owns its networks, batches, devices and audit', (o) =>
    o
      .command(
        'add',
        'add an organization',
        (c) =>
          c.option('name', {
            type: 'string',
            demandOption: true,
            describe: 'organization name: 1-64 letters, digits, . _ - (starting with a letter or digit)',
          }),
        (a) =>
          withRegistry(a, async (r) => {
            const org = await changeCli(
              r,
              () => r.addOrganization({ name: a.name }),
              (o) => ({
                organizationId: o.id,
                objectType: 'organization',
                objectId: String(o.id),
                objectName: o.name,
                action: 'organization.add',
              }),
            );
            done({ human: `organization ${org.name} (id ${org.id})`, json: organizationView(org) });
          }),
      )
      .command(
        'list',
        'list organizations',
        (c) => c,
        (a) =>
          withRegistry(a, async (r) => {
            const views = (await r.listOrganizations()).map(organizationView);
            done({
              human: table(
                ['ID', 'NAME', 'CREATED'],
                views.map((x) => [x.id, x.name, x.createdAt]),
              ),
              json: views,
            });
          }),
      )
      .demandCommand(1, 'name an org command (see --help)'),
  );
}
