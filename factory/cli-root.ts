// `xtt-factory root create` and `xtt-factory server-cert`: the root of trust the devices
// check the server against, byte-compatible with `xtt genkeypair`/`genrootcert`/`genservercert`
// (see root-certs.ts). Private keys go to 0600 files and are never printed.
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { toHex } from '../protocol/util/bytes.ts';
import { systemRng } from '../protocol/util/rng.ts';
import type { Done } from './cli.ts';
import {
  createRoot,
  createServerCertificate,
  parseReserved,
  readRoot,
  writeRoot,
  writeServerCertificate,
} from './root-certs.ts';

export function registerRootCommands(y: Argv<{ json: boolean }>, done: Done): void {
  y.command(
    'root',
    'root of trust: key pair and 81-byte root certificate (like xtt genkeypair + genrootcert)',
    (r) =>
      r
        .command(
          'create',
          'create a root key (121-byte SEC1 DER, 0600) and root certificate (root_id 16 B random ‖ public key)',
          (c) =>
            c.option('out', {
              type: 'string',
              demandOption: true,
              describe: 'directory for root_keys.asn1.bin and root_cert.bin',
            }),
          (a) => {
            const root = createRoot(systemRng);
            const files = writeRoot(a.out, root);
            const rootId = toHex(root.certificate.rootId);
            done({
              human: `created root ${rootId}\n  key          ${files.keys} (keep offline)\n  certificate  ${files.certificate} (provision onto devices)`,
              json: {
                rootId,
                publicKey: toHex(root.certificate.publicKey),
                keyFile: resolve(files.keys),
                certificate: resolve(files.certificate),
              },
            });
          },
        )
        .demandCommand(1, 'name a root subcommand (see root --help)'),
  );
  y.command(
    'server-cert',
    'create a server key and its 169-byte certificate signed by the root over the first 105 bytes (like xtt genservercert)',
    (c) =>
      c
        .option('root', { type: 'string', demandOption: true, describe: 'root directory (from root create)' })
        .option('out', {
          type: 'string',
          demandOption: true,
          describe: 'directory for server_keys.asn1.bin and server_certificate.bin',
        })
        .option('reserved', {
          type: 'string',
          describe: 'reserved field, exactly 24 bytes (default XAPTUMSERVER000199991231)',
        }),
    (a) => {
      const root = readRoot(a.root);
      const server = createServerCertificate(root, systemRng, parseReserved(a.reserved));
      const files = writeServerCertificate(a.out, server);
      const rootId = toHex(root.certificate.rootId);
      done({
        human: `created server certificate under root ${rootId}\n  key          ${files.keys}\n  certificate  ${files.certificate}`,
        json: {
          rootId,
          publicKey: toHex(server.keys.publicKey),
          reserved: new TextDecoder().decode(server.certificate.reserved),
          keyFile: resolve(files.keys),
          certificate: resolve(files.certificate),
        },
      });
    },
  );
}
