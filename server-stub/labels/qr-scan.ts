// Label images for the management API: measured from the header on the calling thread (a bomb is
// refused before any worker or decoder sees it; image-header.ts), then decoded and scanned in a
// worker thread (qr-scan-worker.ts) so that the XTT endpoint and the API keep running while a big
// legitimate photo decodes. One image is decoded at a time (requests wait their turn), so at most one
// decoder's memory (about 4 bytes a pixel for the pixels plus the decoders' own buffers, bounded by
// MAX_IMAGE_PIXELS) is in use; each worker exits after its image, returning that memory.
import { DecodeError, ZtpError } from '../../protocol/errors.ts';
import { checkImageHeader, type ImageFormat } from './image-header.ts';
import type { ScanJob, ScanReply } from './qr-scan-worker.ts';
import { startWorker } from '../endpoint/verify-pool.ts';

let tail: Promise<unknown> = Promise.resolve();

function runWorker(job: ScanJob): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(new URL('./qr-scan-worker.ts', import.meta.url));
    let isSettled = false;
    const settle = (fn: () => void) => {
      if (isSettled) return;
      isSettled = true;
      fn();
      void worker.terminate();
    };
    worker.once('message', (reply: ScanReply) =>
      settle(() => {
        if (reply.ok) resolve(reply.text);
        else if (reply.decode)
          reject(new DecodeError(reply.decode.field, reply.decode.offset, reply.decode.reason));
        else reject(new ZtpError('INTERNAL', `label image scan failed: ${reply.message}`));
      }),
    );
    worker.once('error', (err) =>
      settle(() =>
        reject(new ZtpError('INTERNAL', `label image worker failed: ${err.message}`, { cause: err })),
      ),
    );
    worker.once('exit', (code) =>
      settle(() => reject(new ZtpError('INTERNAL', `label image worker exited with code ${code}`))),
    );
    worker.postMessage(job);
  });
}

/** The label text of a PNG or JPEG image of its QR code, decoded off the main thread. */
export function scanQrImageOffThread(
  image: Uint8Array,
  source: string,
  format?: ImageFormat,
): Promise<string> {
  checkImageHeader(image, source, format);
  const run = tail.then(() => runWorker({ image, source, format }));
  tail = run.catch(() => undefined);
  return run;
}
