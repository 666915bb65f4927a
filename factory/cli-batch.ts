// `xtt-factory create-batch` and `xtt-factory label`: a new batch directory with its label,
// and re-rendering the label of an existing batch. The issuer secret key is written to its 0600 file
// and never printed, in human or JSON output.
import { basename as pathBasename, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { systemRng } from '../protocol/util/rng.ts';
import { QR_MAX_BASENAME_LENGTH, QR_MAX_NAME_LENGTH } from '../protocol/qr-payload.ts';
import { createBatch, DEFAULT_BASENAME, openBatch, type OpenedBatch } from './batch.ts';
import type { CommandResult, Done } from './cli.ts';
import { FactoryError, FactoryErrorCode } from './errors.ts';
import { renderLabel, writeLabel } from './label.ts';

export const DEFAULT_BATCH_SIZE = 1000;

async function labelResult(batch: OpenedBatch, verb: string): Promise<CommandResult> {
  const { manifest } = batch;
  const label = await renderLabel({
    gpk: batch.gpkBytes,
    basename: batch.basename,
    name: manifest.name,
    gid: manifest.gid,
  });
  const files = writeLabel(batch.dir, label);
  return {
    human: [
      `${verb} batch "${manifest.name}" in ${batch.dir}`,
      `  gid       ${manifest.gid}`,
      `  size      ${manifest.size} devices, ${manifest.issued} credentials issued`,
      `  label     ${files.png}, ${files.svg}, ${files.terminal}`,
      '',
      label.terminal,
    ].join('\n'),
    json: {
      batch: resolve(batch.dir),
      name: manifest.name,
      gid: manifest.gid,
      size: manifest.size,
      issued: manifest.issued,
      created: manifest.created,
      basename: Buffer.from(batch.basename).toString('base64url'),
      label: { payload: label.payload, caption: label.caption, qrVersion: label.version, ...files },
    },
  };
}

export function registerBatchCommands(y: Argv<{ json: boolean }>, done: Done): void {
  y.command(
    'create-batch',
    'create a batch: issuer key pair (secret file 0600), group public key, issuer public key with proof, basename, manifest, QR label',
    (c) =>
      c
        .option('out', {
          type: 'string',
          demandOption: true,
          describe: 'new batch directory (must not exist or be empty)',
        })
        .option('name', {
          type: 'string',
          describe: 'batch name shown on the label (default: the directory name)',
        })
        .option('size', {
          type: 'number',
          default: DEFAULT_BATCH_SIZE,
          describe: 'how many devices the batch may provision',
        })
        .option('basename', {
          type: 'string',
          default: DEFAULT_BASENAME,
          describe: 'DAA basename the devices sign with (text)',
        }),
    async (a) => {
      const size = a.size;
      if (Number.isNaN(size))
        throw new FactoryError(FactoryErrorCode.USAGE, '--size: not a number', { field: 'size' });
      if (!Number.isSafeInteger(size) || size < 1)
        throw new FactoryError(FactoryErrorCode.BAD_VALUE, `--size must be an integer >= 1, got ${size}`, {
          field: 'size',
        });
      const basename = new TextEncoder().encode(a.basename);
      if (basename.length < 1 || basename.length > QR_MAX_BASENAME_LENGTH) {
        throw new FactoryError(
          FactoryErrorCode.BAD_VALUE,
          `--basename must be 1..${QR_MAX_BASENAME_LENGTH} bytes`,
          { field: 'basename' },
        );
      }
      const name = a.name ?? pathBasename(resolve(a.out));
      if (new TextEncoder().encode(name).length > QR_MAX_NAME_LENGTH) {
        throw new FactoryError(
          FactoryErrorCode.BAD_VALUE,
          `--name must be at most ${QR_MAX_NAME_LENGTH} UTF-8 bytes`,
          {
            field: 'name',
          },
        );
      }
      const batch = createBatch({ dir: a.out, name, size, basename, rng: systemRng });
      done(await labelResult(batch, 'created'));
    },
  );
  y.command(
    'label',
    "re-render a batch's QR label (PNG, SVG, terminal) from its group public key",
    (c) => c.option('batch', { type: 'string', demandOption: true, describe: 'batch directory' }),
    async (a) => {
      done(await labelResult(openBatch(a.batch, { withSecret: false }), 'label of'));
    },
  );
}
