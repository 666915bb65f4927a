// Where `enf-server batch add` gets a batch's group public key: a raw GPK file (ecdaa 1.0 wire form,
// 258 bytes), the text of the box's QR label (protocol/qr-payload.ts; `@FILE` reads it from a file,
// also the factory's label.txt), or an image of the label: a PNG or JPEG photo or scan (decoded with
// pngjs or jpeg-js) or the factory's label.svg (label-raster.ts), scanned with jsQR. Errors about a
// file name the file as given and say plainly what is wrong with it: not an image this program
// reads, an unreadable (damaged) image, too many pixels, no QR code found, or a QR code that is not
// an XTT batch label; decoder internals stay in the error's cause. An image is measured from its
// header (image-header.ts) before anything is decoded, so a small file declaring a huge image is
// refused without allocating it; the management API decodes in a worker (qr-scan.ts). The GPK is
// always checked by protocol/ecdaa's strict decoder (points on FP256BN, in G2) before the registry
// sees it.
import jpeg from 'jpeg-js';
import jsQRModule from 'jsqr';
import { readFileSync } from 'node:fs';
import { isMissingPath, MissingFileError } from '../../common/cli.ts';
import { PNG } from 'pngjs';
import { decodeGroupPublicKey } from '../../protocol/ecdaa/index.ts';
import { DecodeError, ZtpError } from '../../protocol/errors.ts';
import { decodeQrPayload, type BatchLabel } from '../../protocol/qr-payload.ts';
import { checkImageHeader, isJpeg, MAX_IMAGE_PIXELS, type ImageFormat } from './image-header.ts';
import { rasterizeLabelSvg, rasterizeLabelText } from './label-raster.ts';

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
      throw new DecodeError(
        `${source}.jpeg`,
        0,
        'not a readable JPEG (the image data is damaged or cut short)',
        {
          cause,
        },
      );
    }
  }
  let img: PNG;
  try {
    img = PNG.sync.read(buf);
  } catch (cause) {
    // pngjs's own messages describe its stream internals, not the file: kept as the cause only.
    throw new DecodeError(`${source}.png`, 0, 'not a readable PNG (the image data is damaged or cut short)', {
      cause,
    });
  }
  if (img.width !== header.width || img.height !== header.height) {
    throw new DecodeError(`${source}.png`, 16, 'decoded size differs from the IHDR header');
  }
  return img;
}

/** An input file is unusable: unreadable, too large, or its content is wrong (bad input). */
export class InputFileError extends ZtpError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('INPUT_FILE', `${file}: ${message}`, options);
    this.file = file;
  }
}

/** Reads a file named on the command line; MissingFileError (not found) when it does not exist. */
export function readInputFile(path: string, maxBytes: number): Uint8Array {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (cause) {
    if (isMissingPath(cause)) throw new MissingFileError(path, 'file', { cause });
    const code = (cause as NodeJS.ErrnoException).code;
    const why =
      code === 'EISDIR'
        ? 'is a directory, not a file'
        : code === 'EACCES'
          ? 'permission denied'
          : 'cannot read';
    throw new InputFileError(path, why, { cause });
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

/** The text of the QR code in RGBA pixels; `field` names the image in a DecodeError. */
function scanPixels(img: Rgba, field: string): string {
  const hit = jsQR(
    new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length),
    img.width,
    img.height,
  );
  if (!hit) throw new DecodeError(field, 0, 'no QR code found in the image');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(hit.binaryData));
  } catch (cause) {
    throw new DecodeError(field, 0, 'the QR code does not hold text (not an XTT batch label)', { cause });
  }
}

/** The label text inside a PNG or JPEG image of the QR code. */
export function scanQrImage(image: Uint8Array, source: string, format?: ImageFormat): string {
  return scanPixels(decodeImage(image, source, format), `${source}.qr`);
}

/** Decodes label text and checks its GPK. */
export function labelFromText(text: string): BatchLabel {
  const label = decodeQrPayload(text);
  checkGpk(label.gpk, 'QR label GPK');
  return label;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];
const isPng = (b: Uint8Array): boolean => PNG_MAGIC.every((x, i) => b[i] === x);
/** An SVG document: optional BOM, XML declaration or comments, then an <svg> element early on. */
const isSvg = (b: Uint8Array): boolean =>
  /^(?:\uFEFF)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg\b/.test(
    new TextDecoder().decode(b.subarray(0, 4096)),
  );

/** The label in text: the QR code's text decoded and its GPK checked; `file` names the source. */
function labelOf(text: string, file: string): BatchLabel {
  try {
    return labelFromText(text);
  } catch (cause) {
    if (cause instanceof DecodeError && cause.field.startsWith('QrPayload')) {
      throw new InputFileError(file, `the QR code is not an XTT batch label (${cause.reason})`, { cause });
    }
    throw cause;
  }
}

/** Runs a scan step; a DecodeError becomes an InputFileError naming `file` with its plain reason. */
function inFile<T>(file: string, step: () => T): T {
  try {
    return step();
  } catch (cause) {
    if (cause instanceof DecodeError) throw new InputFileError(file, cause.reason, { cause });
    throw cause;
  }
}

/**
 * `batch add --qr-image FILE`: a PNG or JPEG photo or scan of the label, or the factory's
 * label.svg. Errors name FILE as given.
 */
export function labelFromImage(path: string): BatchLabel {
  const bytes = readInputFile(path, MAX_IMAGE_BYTES);
  let text: string;
  if (isPng(bytes) || isJpeg(bytes)) {
    text = inFile(path, () => scanQrImage(bytes, 'image', isJpeg(bytes) ? 'jpeg' : 'png'));
  } else if (isSvg(bytes)) {
    const img = rasterizeLabelSvg(new TextDecoder().decode(bytes));
    if (typeof img === 'string') throw new InputFileError(path, `not a label SVG of xtt-factory: ${img}`);
    text = inFile(path, () => scanPixels(img, 'image.qr'));
  } else if (isLabelArt(bytes)) {
    throw new InputFileError(path, 'the terminal label (label.txt): give it as --qr-text @FILE');
  } else {
    throw new InputFileError(
      path,
      'not an image this program reads: give a PNG or JPEG photo or scan of the label, or the label.svg of xtt-factory',
    );
  }
  return labelOf(text, path);
}

/** Text that draws a QR code in block characters (the factory's label.txt). */
const isLabelArt = (b: Uint8Array): boolean =>
  b.length <= 64 * 1024 && /[█▀▄]/.test(new TextDecoder().decode(b));

/**
 * `batch add --qr-text VALUE`: the label text itself, or `@FILE`: a file holding the label text
 * (XTT1:...) or the factory's label.txt (the code drawn in block characters, read by its QR code).
 */
export function labelFromTextArgument(value: string): BatchLabel {
  if (!value.startsWith('@')) return labelFromText(value);
  const path = value.slice(1);
  if (path === '') throw new InputFileError('@', 'give a file name after @');
  const bytes = readInputFile(path, 64 * 1024);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new InputFileError(path, 'not a text file (give an image with --qr-image)', { cause });
  }
  if (text.trim().startsWith('XTT1:')) return labelOf(text.trim(), path);
  const img = rasterizeLabelText(text);
  if (typeof img === 'string') {
    throw new InputFileError(
      path,
      `neither the label text (XTT1:...) nor the label.txt of xtt-factory: ${img}`,
    );
  }
  return labelOf(
    inFile(path, () => scanPixels(img, 'label.txt')),
    path,
  );
}

export function gpkFromFile(path: string): Uint8Array {
  return checkGpk(readInputFile(path, 4096), path);
}
