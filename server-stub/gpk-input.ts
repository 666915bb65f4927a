// Where `enf-server batch add` gets a batch's group public key: a raw GPK file (ecdaa 1.0 wire form,
// 258 bytes), the text of the box's QR label (protocol/qr-payload.ts), or a photo/scan of the label
// as PNG or JPEG (decoded with pngjs or jpeg-js, scanned with jsQR). An image is measured from its
// header (image-header.ts) before anything is decoded, so a small file declaring a huge image is
// refused without allocating it; the management API decodes in a worker (qr-scan.ts). The GPK is
// always checked by protocol/ecdaa's strict decoder (points on FP256BN, in G2) before the registry
// sees it.
import jpeg from 'jpeg-js';
import jsQRModule from 'jsqr';
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { decodeGroupPublicKey } from '../protocol/ecdaa/index.ts';
import { DecodeError, ZtpError } from '../protocol/errors.ts';
import { decodeQrPayload, type BatchLabel } from '../protocol/qr-payload.ts';
import { checkImageHeader, MAX_IMAGE_PIXELS, type ImageFormat } from './image-header.ts';

export type { ImageFormat } from './image-header.ts';

// jsqr is CommonJS: module.exports is the function (its .d.ts declares it as `default`).
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

/** The biggest label image file we read: a phone photo, not an arbitrary file. */
export const MAX_IMAGE_BYTES = 32 * 1024 * 1024;

interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Decodes a PNG or JPEG into RGBA pixels, after its header passed the pixel cap. The format is the
 * declared one (an HTTP Content-Type) or, for files, recognised by the JPEG magic bytes.
 */
function decodeImage(image: Uint8Array, source: string, format?: ImageFormat): Rgba {
  const header = checkImageHeader(image, source, format);
  const buf = Buffer.from(image.buffer, image.byteOffset, image.length);
  if (header.format === 'jpeg') {
    try {
      // jpeg-js checks the declared size against these bounds before allocating.
      return jpeg.decode(buf, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: MAX_IMAGE_PIXELS / 1_000_000,
        maxMemoryUsageInMB: 512,
      });
    } catch (cause) {
      throw new DecodeError(`${source}.jpeg`, 0, `not a readable JPEG (${(cause as Error).message})`, {
        cause,
      });
    }
  }
  let img: PNG;
  try {
    img = PNG.sync.read(buf);
  } catch (cause) {
    throw new DecodeError(`${source}.png`, 0, `not a readable PNG (${(cause as Error).message})`, { cause });
  }
  if (img.width !== header.width || img.height !== header.height) {
    throw new DecodeError(`${source}.png`, 16, 'decoded size differs from the IHDR header');
  }
  return img;
}

/** Reading an input file failed (missing, unreadable, too large). */
export class InputFileError extends ZtpError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('INPUT_FILE', `${file}: ${message}`, options);
    this.file = file;
  }
}

export function readInputFile(path: string, maxBytes: number): Uint8Array {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (cause) {
    throw new InputFileError(path, 'cannot read', { cause });
  }
  if (data.length > maxBytes) throw new InputFileError(path, `larger than ${maxBytes} bytes`);
  return new Uint8Array(data);
}

/** Strict GPK check by the ECDAA decoder; a DecodeError names the field `batch.gpk`. */
export function checkGpk(gpk: Uint8Array, source: string): Uint8Array {
  try {
    decodeGroupPublicKey(gpk);
  } catch (cause) {
    throw new DecodeError(
      'batch.gpk',
      0,
      `${source}: not a valid FP256BN group public key (${(cause as Error).message})`,
      {
        cause,
      },
    );
  }
  return gpk;
}

/** The label text inside a PNG or JPEG image of the QR code. */
export function scanQrImage(image: Uint8Array, source: string, format?: ImageFormat): string {
  const img = decodeImage(image, source, format);
  const hit = jsQR(
    new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length),
    img.width,
    img.height,
  );
  if (!hit) throw new DecodeError(`${source}.qr`, 0, 'no QR code found in the image');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(hit.binaryData));
  } catch (cause) {
    throw new DecodeError(`${source}.qr`, 0, 'QR code does not hold UTF-8 text', { cause });
  }
}

/** Decodes label text and checks its GPK. */
export function labelFromText(text: string): BatchLabel {
  const label = decodeQrPayload(text);
  checkGpk(label.gpk, 'QR label GPK');
  return label;
}

export function labelFromImage(path: string): BatchLabel {
  return labelFromText(scanQrImage(readInputFile(path, MAX_IMAGE_BYTES), path));
}

export function gpkFromFile(path: string): Uint8Array {
  return checkGpk(readInputFile(path, 4096), path);
}
