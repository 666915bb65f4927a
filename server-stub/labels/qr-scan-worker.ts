// Worker thread of qr-scan.ts: decodes one label image and scans its QR code (gpk-input.ts), off the
// main thread, then posts the text or the error (DecodeError fields kept so the API names them).
import { parentPort } from 'node:worker_threads';
import { DecodeError } from '../../protocol/errors.ts';
import { scanQrImage, type ImageFormat } from './gpk-input.ts';

export interface ScanJob {
  image: Uint8Array;
  source: string;
  format: ImageFormat | undefined;
}

export type ScanReply =
  | { ok: true; text: string }
  | { ok: false; decode: { field: string; offset: number; reason: string } | null; message: string };

parentPort!.once('message', (job: ScanJob) => {
  let reply: ScanReply;
  try {
    reply = { ok: true, text: scanQrImage(job.image, job.source, job.format) };
  } catch (err) {
    reply =
      err instanceof DecodeError
        ? {
            ok: false,
            decode: {
              field: err.field,
              offset: err.offset,
              reason: err.message.replace(`${err.field} at offset ${err.offset}: `, ''),
            },
            message: err.message,
          }
        : { ok: false, decode: null, message: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});
