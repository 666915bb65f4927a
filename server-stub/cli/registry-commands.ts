// `enf-server network|batch|device|audit`: thin handlers over the
// Registry port. Every value from the command line goes through the registry's validation; a refused
// value changes nothing. Devices are named by identity (IPv6 text) or by --batch plus pseudonym hex.
import type { Argv } from 'yargs';
import { fromHex, toHex } from '../../protocol/util/bytes.ts';
import { short, table } from './format.ts';
import { auditView, batchView, deviceView, networkView } from '../http/views.ts';
import { UsageError, withRegistry, type Done, type GlobalArgs } from './cli.ts';
import { organizationId, registerOrg } from './org-commands.ts';
import { gpkFromFile, labelFromImage, labelFromTextArgument, readInputFile } from '../labels/gpk-input.ts';
import { RegistryError, ValidationError } from '../registry/errors.ts';
import { formatIpv6, formatPrefix64, parseIpv6 } from '../registry/ipv6.ts';
import {
  batchObject,
  deviceObject,
  networkObject,
  operatorAuditCommand,
  changeCli,
} from './operator-audit-commands.ts';
import {
  AUDIT_OUTCOMES,
  DEVICE_STATUSES,
  type Batch,
  type Device,
  type Network,
  type Registry,
} from '../registry/registry.ts';
import { checkInt, MAX_AUDIT_LIMIT } from '../registry/validate.ts';

async function batchByRef(r: Registry, ref: string): Promise<Batch> {
  const b = await r.findBatch(ref);
  if (!b) throw new RegistryError('NOT_FOUND', `no batch named or with gid '${ref}'`, { field: 'batch' });
  return b;
}

async function deviceByRef(r: Registry, ref: string, batch: string | undefined): Promise<Device> {
  let device: Device | undefined;
  if (ref.includes(':')) {
    device = await r.getDeviceByIdentity(parseIpv6(ref, 'device'));
  } else {
    if (!batch)
      throw new UsageError('device: give an identity (IPv6 address) or --batch with a pseudonym in hex');
    const b = await batchByRef(r, batch);
    device = await r.getDevice(b.gid, fromHex(ref, 'device'));
  }
  if (!device) throw new RegistryError('NOT_FOUND', `no device '${ref}'`, { field: 'device' });
  return device;
}

/** The networks by id, as the views name a batch's network. */
async function networksById(r: Registry): Promise<Map<number, Network>> {
  return new Map((await r.listNetworks()).map((n) => [n.id, n]));
}

/** The name of a device's batch by gid hex, as the device view looks it up. */
async function batchNameOf(r: Registry, gid: Uint8Array): Promise<Map<string, string>> {
  const b = await r.getBatch(gid);
  return new Map(b ? [[toHex(b.gid), b.name]] : []);
}

/** "2026-01-01T00:00:00Z", or a duration back from now: 30s, 15m, 2h, 7d. */
export function parseSince(text: string, now: number): number {
  const rel = /^([0-9]{1,9})([smhd])$/.exec(text);
  if (rel)
    return now - Number(rel[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(text);
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}/.test(text) || Number.isNaN(t)) {
    throw new ValidationError('since', 'expected an ISO 8601 time or a duration like 30m, 2h, 7d');
  }
  return t;
}

function registerNetwork(y: Argv<GlobalArgs>, done: Done): void {
  y.command('network', 'IPv6 /64 networks devices get their identities from', (n) =>
    n
      .command(
        'add',
        'add a network',
        (c) =>
          c
            .option('name', {
              type: 'string',
              demandOption: true,
              describe: 'network name: 1-64 letters, digits, . _ - (starting with a letter or digit)',
            })
            .option('prefix', {
              type: 'string',
              demandOption: true,
              describe: 'an IPv6 /64, e.g. 2001:db8:1:2::/64',
            })
            .option('org', { type: 'string', describe: 'the organization owning it (default: default)' }),
        (a) =>
          withRegistry(a, async (r) => {
            const org = a.org === undefined ? undefined : await organizationId(r, a.org);
            const net = await changeCli(
              r,
              () => r.addNetwork({ name: a.name, prefix: a.prefix }, org),
              (n) => ({ ...networkObject(n), action: 'network.add', detail: { prefix: a.prefix } }),
            );
            done({
              human: `network ${net.name} ${formatPrefix64(net.prefix)} (id ${net.id})`,
              json: networkView(net),
            });
          }),
      )
      .command(
        'list',
        'list networks',
        (c) => c,
        (a) =>
          withRegistry(a, async (r) => {
            const nets = await r.listNetworks();
            const rows = nets.map((n) => [n.id, n.name, formatPrefix64(n.prefix)]);
            done({ human: table(['ID', 'NAME', 'PREFIX'], rows), json: nets.map(networkView) });
          }),
      )
      .demandCommand(1, 'name a network command (see --help)'),
  );
}

function registerBatch(y: Argv<GlobalArgs>, done: Done): void {
  y.command('batch', 'batches of devices (DAA groups) and their networks', (b) =>
    b
      .command(
        'add',
        'register a batch from its GPK file, QR label text or QR label image',
        (c) =>
          c
            .option('gpk-file', { type: 'string', describe: 'raw group public key (258 B)' })
            .option('qr-text', {
              type: 'string',
              describe:
                "the QR label's text (XTT1:...), or @FILE: a file holding it or the factory's label.txt",
            })
            .option('qr-image', {
              type: 'string',
              describe: "the QR label as an image: a PNG or JPEG photo or scan, or the factory's label.svg",
            })
            .conflicts({ 'gpk-file': ['qr-text', 'qr-image'], 'qr-text': 'qr-image' })
            .option('basename', { type: 'string', describe: 'basename text (with --gpk-file)' })
            .option('basename-file', {
              type: 'string',
              describe: 'basename bytes from a file (with --gpk-file)',
            })
            .conflicts('basename', 'basename-file')
            .option('name', { type: 'string', describe: 'batch name (default: the label name)' })
            .option('network', { type: 'string', describe: 'network name or id to associate' })
            .option('size', {
              type: 'number',
              demandOption: true,
              describe: 'issued size: the device quota',
            }),
        (a) =>
          withRegistry(a, async (r) => {
            let gpk: Uint8Array;
            let basename: Uint8Array;
            let name = a.name;
            if (a['gpk-file']) {
              gpk = gpkFromFile(a['gpk-file']);
              if (a.basename !== undefined) basename = new TextEncoder().encode(a.basename);
              else if (a['basename-file']) basename = readInputFile(a['basename-file'], 4096);
              else throw new UsageError('--gpk-file needs --basename or --basename-file');
            } else if (a['qr-text'] !== undefined || a['qr-image'] !== undefined) {
              if (a.basename !== undefined || a['basename-file'])
                throw new UsageError('the QR label carries the basename');
              const label = a['qr-image']
                ? labelFromImage(a['qr-image'])
                : labelFromTextArgument(a['qr-text']!);
              gpk = label.gpk;
              basename = label.basename;
              name ??= label.name;
            } else {
              throw new UsageError('give one of --gpk-file, --qr-text, --qr-image');
            }
            if (name === undefined) throw new UsageError('--name is required with --gpk-file');
            const network =
              a.network === undefined
                ? undefined
                : /^[0-9]+$/.test(a.network)
                  ? Number(a.network)
                  : a.network;
            const batch = await changeCli(
              r,
              () =>
                r.addBatch({
                  gpk,
                  basename,
                  name,
                  size: a.size,
                  ...(network === undefined ? {} : { network }),
                }),
              (b) => ({
                ...batchObject(b),
                action: 'batch.add',
                detail: { size: b.size, network: network ?? null },
              }),
            );
            const view = batchView(batch, await networksById(r));
            done({
              human: `batch ${batch.name} gid ${toHex(batch.gid)} network ${String(view.network)} size ${batch.size}`,
              json: view,
            });
          }),
      )
      .command(
        'assign <batch>',
        'associate a batch with a network',
        (c) =>
          c
            .positional('batch', { type: 'string', demandOption: true })
            .option('network', { type: 'string', demandOption: true, describe: 'network name or id' }),
        (a) =>
          withRegistry(a, async (r) => {
            const b = await batchByRef(r, a.batch);
            const net = /^[0-9]+$/.test(a.network) ? Number(a.network) : a.network;
            const updated = await changeCli(
              r,
              () => r.setBatchNetwork(b.gid, net),
              (u) => ({ ...batchObject(b), action: 'batch.assign', detail: { networkId: u.networkId } }),
            );
            done({
              human: `batch ${updated.name} now in network ${a.network}`,
              json: batchView(updated, await networksById(r)),
            });
          }),
      )
      .command(
        'list',
        'list batches with device counts',
        (c) => c,
        (a) =>
          withRegistry(a, async (r) => {
            const nets = await networksById(r);
            const batches = await r.listBatches();
            const views = batches.map((b) => batchView(b, nets));
            const rows = views.map(
              (v) =>
                [
                  v.name,
                  short(String(v.gid)),
                  v.network,
                  v.status,
                  `${v.counts.provisioned}/${v.counts.issued}`,
                  v.counts.revoked,
                ] as (string | number | null)[],
            );
            done({
              human: table(['NAME', 'GID', 'NETWORK', 'STATUS', 'DEVICES', 'REVOKED'], rows),
              json: views,
            });
          }),
      )
      .command(
        'revoke <batch>',
        'refuse every device of a batch from now on',
        (c) => c.positional('batch', { type: 'string', demandOption: true }),
        (a) =>
          withRegistry(a, async (r) => {
            const gid = (await batchByRef(r, a.batch)).gid;
            const b = await changeCli(
              r,
              () => r.revokeBatch(gid),
              (x) => ({ ...batchObject(x), action: 'batch.revoke' }),
            );
            done({ human: `batch ${b.name} revoked`, json: batchView(b, await networksById(r)) });
          }),
      )
      .demandCommand(1, 'name a batch command (see --help)'),
  );
}

function registerDevice(y: Argv<GlobalArgs>, done: Done): void {
  const deviceArg = <T>(c: Argv<T>) =>
    c
      .positional('device', {
        type: 'string',
        demandOption: true,
        describe: 'identity (IPv6) or pseudonym hex with --batch',
      })
      .option('batch', { type: 'string', describe: 'batch name or gid (with a pseudonym)' });
  y.command('device', 'devices known by their DAA pseudonym', (d) =>
    d
      .command(
        'list',
        'list devices',
        (c) =>
          c.option('batch', { type: 'string', describe: 'batch name or gid' }).option('status', {
            type: 'string',
            choices: DEVICE_STATUSES,
            describe: 'only devices with this status (default: all)',
          }),
        (a) =>
          withRegistry(a, async (r) => {
            const batches = await r.listBatches();
            const gid = a.batch === undefined ? undefined : (await batchByRef(r, a.batch)).gid;
            const devices = await r.listDevices({
              ...(gid ? { gid } : {}),
              ...(a.status ? { status: a.status as 'active' } : {}),
            });
            const names = new Map(batches.map((b) => [toHex(b.gid), b.name]));
            const nameOf = (d: Device) => names.get(toHex(d.gid));
            const views = devices.map((d) => deviceView(d, names));
            const rows = devices.map((d) => [
              formatIpv6(d.identity),
              nameOf(d) ?? '?',
              d.status,
              d.handshakeCount,
              new Date(d.lastHandshakeAt).toISOString(),
              d.lastSource,
            ]);
            done({
              human: table(['IDENTITY', 'BATCH', 'STATUS', 'HANDSHAKES', 'LAST', 'SOURCE'], rows),
              json: views,
            });
          }),
      )
      .command(
        'revoke <device>',
        'refuse this device from now on',
        (c) => deviceArg(c),
        (a) =>
          withRegistry(a, async (r) => {
            const dev = await deviceByRef(r, a.device, a.batch);
            const updated = await changeCli(
              r,
              () => r.revokeDevice(dev.gid, dev.pseudonym),
              async (d) => ({ ...(await deviceObject(r, d)), action: 'device.revoke' }),
            );
            done({
              human: `device ${formatIpv6(updated.identity)} revoked`,
              json: deviceView(updated, await batchNameOf(r, updated.gid)),
            });
          }),
      )
      .command(
        'allow-rekey <device>',
        'let this device return once with a new long-term key (--off to withdraw)',
        (c) =>
          deviceArg(c).option('off', {
            type: 'boolean',
            default: false,
            describe: 'withdraw an allowance not yet used',
          }),
        (a) =>
          withRegistry(a, async (r) => {
            const dev = await deviceByRef(r, a.device, a.batch);
            const updated = await changeCli(
              r,
              () => r.setAllowRekey(dev.gid, dev.pseudonym, !a.off),
              async (d) => ({
                ...(await deviceObject(r, d)),
                action: 'device.allow-rekey',
                detail: { allow: !a.off },
              }),
            );
            done({
              human: `device ${formatIpv6(updated.identity)} allow-rekey ${updated.allowRekey ? 'on' : 'off'}`,
              json: deviceView(updated, await batchNameOf(r, updated.gid)),
            });
          }),
      )
      .demandCommand(1, 'name a device command (see --help)'),
  );
}

function registerAudit(y: Argv<GlobalArgs>, done: Done): void {
  y.command(
    'audit',
    'handshakes: who, from where, what was decided and why (newest first); `audit operator`: operator actions',
    (c) =>
      operatorAuditCommand(c, done, parseSince)
        .option('since', { type: 'string', describe: 'ISO 8601 time or a duration back (30m, 2h, 7d)' })
        .option('batch', { type: 'string', describe: 'batch name or gid' })
        .option('outcome', {
          type: 'string',
          choices: AUDIT_OUTCOMES,
          describe: 'only this outcome (default: all)',
        })
        .option('limit', {
          type: 'number',
          default: 100,
          describe: 'at most this many entries, newest first',
        }),
    (a) =>
      withRegistry(a, async (r) => {
        const limit = checkInt(a.limit, 'filter.limit', 1, MAX_AUDIT_LIMIT);
        const gid = a.batch === undefined ? undefined : (await batchByRef(r, a.batch)).gid;
        const entries = await r.queryAudit({
          limit,
          ...(a.since === undefined ? {} : { since: parseSince(a.since, Date.now()) }),
          ...(gid ? { gid } : {}),
          ...(a.outcome ? { outcome: a.outcome as 'refused' } : {}),
        });
        const views = entries.map(auditView);
        const rows = views.map((v) => [
          v.at,
          `${v.sourceAddress} ${v.sourcePort}`,
          v.outcome,
          v.reason,
          v.identity,
        ]);
        done({ human: table(['TIME', 'SOURCE', 'OUTCOME', 'REASON', 'IDENTITY'], rows), json: views });
      }),
  );
}

export function registerRegistryCommands(y: Argv<GlobalArgs>, done: Done): void {
  registerOrg(y, done);
  registerNetwork(y, done);
  registerBatch(y, done);
  registerDevice(y, done);
  registerAudit(y, done);
}
