// The batch's QR label: a QR code of the text
// encodeQrPayload({gpk, basename, name}) (protocol/qr-payload.ts, format XTT1:...), rendered as PNG
// (pngjs) and SVG from the same module matrix, plus a terminal rendering (qrcode's utf8 renderer), each
// with a human caption: the batch name and the short gid (first 8 bytes in hex), which the server's
// management page shows next to a scanned batch.
//
// Error correction level M and a 4-module quiet zone (ISO/IEC 18004 minimum) keep the ~400-character
// payload readable from a printed box label. The PNG's caption is drawn below the quiet zone with the
// small bitmap font of label-font.ts (two lines: batch name, gid), so it never touches the code.
import { PNG } from 'pngjs';
import QRCode from 'qrcode';
import { join } from 'node:path';
import { encodeQrPayload } from '../protocol/qr-payload.ts';
import { writeAtomic } from '../common/fs-atomic.ts';
import { drawText, GLYPH_ADVANCE, GLYPH_HEIGHT } from './label-font.ts';

export const LABEL_FILES = { png: 'label.png', svg: 'label.svg', terminal: 'label.txt' } as const;

const QUIET_ZONE = 4;
const PNG_SCALE = 8;
const ERROR_CORRECTION = 'M';

export interface LabelInput {
  gpk: Uint8Array;
  basename: Uint8Array;
  name: string;
  /** Group id, 64 hex digits (SHA-256(gpk ‖ basename)). */
  gid: string;
}

export interface RenderedLabel {
  /** The exact text inside the QR code. */
  payload: string;
  caption: string;
  png: Buffer;
  svg: string;
  terminal: string;
  /** QR version (size) chosen by the encoder, for the report. */
  version: number;
}

/** "batch NAME  gid 0123456789abcdef" (16 hex digits: enough to tell batches apart at a glance). */
export function labelCaption(name: string, gid: string): string {
  return `batch ${name}  gid ${gid.slice(0, 16)}`;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The caption lines printed under the PNG code. */
export function pngCaptionLines(name: string, gid: string): [string, string] {
  return [`BATCH ${name}`, `GID ${gid.slice(0, 16)}`];
}

function renderPng(
  size: number,
  dark: (row: number, col: number) => boolean,
  lines: readonly string[],
): Buffer {
  const side = (size + 2 * QUIET_ZONE) * PNG_SCALE;
  // Largest font scale (up to 4) at which the longest line fits with a quiet-zone margin.
  const longest = Math.max(...lines.map((l) => [...l].length));
  const textScale = Math.max(
    1,
    Math.min(4, Math.floor((side - 2 * QUIET_ZONE * PNG_SCALE) / (longest * GLYPH_ADVANCE))),
  );
  const lineHeight = (GLYPH_HEIGHT + 4) * textScale;
  const height = side + lines.length * lineHeight + QUIET_ZONE * PNG_SCALE;
  const png = new PNG({ width: side, height, colorType: 6 });
  png.data.fill(0xff); // white, opaque
  const setDark = (x: number, y: number): void => {
    const i = (y * side + x) * 4;
    png.data[i] = 0;
    png.data[i + 1] = 0;
    png.data[i + 2] = 0;
  };
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      if (!dark(r, c)) continue;
      for (let y = 0; y < PNG_SCALE; y++) {
        for (let x = 0; x < PNG_SCALE; x++)
          setDark((c + QUIET_ZONE) * PNG_SCALE + x, (r + QUIET_ZONE) * PNG_SCALE + y);
      }
    }
  }
  lines.forEach((line, i) => {
    const left = Math.max(0, Math.floor((side - [...line].length * GLYPH_ADVANCE * textScale) / 2));
    const top = side + i * lineHeight;
    drawText(line, (x, y) => {
      for (let dy = 0; dy < textScale; dy++) {
        for (let dx = 0; dx < textScale; dx++) {
          const px = left + x * textScale + dx;
          if (px < side) setDark(px, top + y * textScale + dy);
        }
      }
    });
  });
  return PNG.sync.write(png);
}

function renderSvg(size: number, dark: (row: number, col: number) => boolean, caption: string): string {
  const side = size + 2 * QUIET_ZONE;
  const captionHeight = 4;
  const path: string[] = [];
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      if (dark(r, c)) path.push(`M${c + QUIET_ZONE} ${r + QUIET_ZONE}h1v1h-1z`);
    }
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${side} ${side + captionHeight}" shape-rendering="crispEdges">`,
    `<rect width="${side}" height="${side + captionHeight}" fill="#fff"/>`,
    `<path fill="#000" d="${path.join('')}"/>`,
    `<text x="${side / 2}" y="${side + 1.5}" font-family="monospace" font-size="2" text-anchor="middle">${escapeXml(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

export async function renderLabel(input: LabelInput): Promise<RenderedLabel> {
  const payload = encodeQrPayload({ gpk: input.gpk, basename: input.basename, name: input.name });
  const qr = QRCode.create(payload, { errorCorrectionLevel: ERROR_CORRECTION });
  const { size } = qr.modules;
  const dark = (r: number, c: number): boolean => qr.modules.get(r, c) === 1;
  const caption = labelCaption(input.name, input.gid);
  const art = await QRCode.toString(payload, {
    type: 'utf8',
    errorCorrectionLevel: ERROR_CORRECTION,
    margin: QUIET_ZONE,
  });
  return {
    payload,
    caption,
    png: renderPng(size, dark, pngCaptionLines(input.name, input.gid)),
    svg: renderSvg(size, dark, caption),
    terminal: `${art.trimEnd()}\n${caption}\n`,
    version: qr.version,
  };
}

/** Write (or re-write: the label is derived data) the three renderings into the batch directory. */
export function writeLabel(
  dir: string,
  label: RenderedLabel,
): { png: string; svg: string; terminal: string } {
  const out = {
    png: join(dir, LABEL_FILES.png),
    svg: join(dir, LABEL_FILES.svg),
    terminal: join(dir, LABEL_FILES.terminal),
  };
  writeAtomic(dir, LABEL_FILES.png, label.png);
  writeAtomic(dir, LABEL_FILES.svg, new TextEncoder().encode(label.svg));
  writeAtomic(dir, LABEL_FILES.terminal, new TextEncoder().encode(label.terminal));
  return out;
}
