// Image dimensions from the header alone, so that a label image is measured before anything is
// decoded: PNG (ISO/IEC 15948, 5.2 signature and 11.2.2 IHDR: the first chunk, width and height as
// 4-byte big-endian integers) and JPEG (ITU-T T.81, B.1.1.2 markers and B.2.2 frame header: the first
// SOFn segment gives Y (lines) and X (samples per line) as 2-byte big-endian integers). A compressed
// image can declare billions of pixels in a few hundred kilobytes; the decoders would allocate them
// all, so the pixel cap is applied here.
import { DecodeError } from '../../protocol/errors.ts';

export type ImageFormat = 'png' | 'jpeg';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

/** A label is a phone photo or a scan: 4096 x 4096 pixels at most (a 12 MP photo is 4032 x 3024). */
export const MAX_IMAGE_PIXELS = 4096 * 4096;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const IHDR = [0x49, 0x48, 0x44, 0x52];

export function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

const u16 = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!;
const u32 = (b: Uint8Array, i: number): number =>
  ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

function pngHeader(b: Uint8Array, field: string): ImageHeader {
  if (b.length < 24 || !PNG_SIGNATURE.every((x, i) => b[i] === x)) {
    throw new DecodeError(field, 0, 'not a PNG (no PNG signature)');
  }
  if (u32(b, 8) !== 13 || !IHDR.every((x, i) => b[12 + i] === x)) {
    throw new DecodeError(field, 8, 'not a PNG (the first chunk is not a 13-byte IHDR)');
  }
  const width = u32(b, 16);
  const height = u32(b, 20);
  if (width === 0 || height === 0)
    throw new DecodeError(field, 16, `PNG of ${width}x${height} pixels is empty`);
  return { format: 'png', width, height };
}

function isStartOfFrame(marker: number): boolean {
  // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function jpegHeader(b: Uint8Array, field: string): ImageHeader {
  if (!isJpeg(b)) throw new DecodeError(field, 0, 'not a JPEG (no SOI marker)');
  let i = 2;
  while (i < b.length) {
    if (b[i] !== 0xff) throw new DecodeError(field, i, 'not a JPEG (a marker was expected)');
    while (b[i] === 0xff) i++; // fill bytes
    const marker = b[i++];
    if (marker === undefined) break;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length
    if (marker === 0xd9 || marker === 0xda) break; // EOI or scan data before any frame header
    if (i + 2 > b.length) break;
    const length = u16(b, i);
    if (length < 2) throw new DecodeError(field, i, `JPEG segment length ${length} is too small`);
    if (isStartOfFrame(marker)) {
      if (length < 8 || i + 7 > b.length) throw new DecodeError(field, i, 'JPEG frame header is truncated');
      const height = u16(b, i + 3);
      const width = u16(b, i + 5);
      // Height 0 means "defined later by a DNL segment": an unknown size is refused like a huge one.
      if (width === 0 || height === 0) {
        throw new DecodeError(
          field,
          i + 3,
          `JPEG of ${width}x${height} pixels: size not declared in the frame header`,
        );
      }
      return { format: 'jpeg', width, height };
    }
    i += length;
  }
  throw new DecodeError(field, 0, 'not a JPEG (no frame header before the image data)');
}

/**
 * Format and dimensions from the header. The format is the declared one (an HTTP Content-Type) or,
 * without one, JPEG when the bytes start with its SOI marker and PNG otherwise.
 */
export function readImageHeader(image: Uint8Array, source: string, format?: ImageFormat): ImageHeader {
  const f = format ?? (isJpeg(image) ? 'jpeg' : 'png');
  return f === 'jpeg' ? jpegHeader(image, `${source}.jpeg`) : pngHeader(image, `${source}.png`);
}

/** readImageHeader, and refuses images past MAX_IMAGE_PIXELS with an error that names the limit. */
export function checkImageHeader(image: Uint8Array, source: string, format?: ImageFormat): ImageHeader {
  const h = readImageHeader(image, source, format);
  if (h.width * h.height > MAX_IMAGE_PIXELS) {
    throw new DecodeError(
      `${source}.${h.format}`,
      0,
      `image of ${h.width}x${h.height} pixels is larger than the limit of ${MAX_IMAGE_PIXELS} pixels (4096x4096)`,
    );
  }
  return h;
}
