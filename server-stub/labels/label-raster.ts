// The two label files of xtt-factory that are not photos (factory/label.ts): label.svg (one dark
// path of unit squares `Mx yh1v1h-1z` in a viewBox of whole modules) and label.txt (qrcode's utf8
// rendering: one character per module column and two module rows per line, '█' both dark, '▀' the
// upper one, '▄' the lower one, ' ' neither; the caption line follows). Each is drawn back into
// RGBA pixels, a few per module, so the same QR decoder as for photos reads it (gpk-input.ts): the
// label text comes from the code itself, never from the caption or other text in the file.
// Only these shapes are read, not SVG in general: rectangles (`<rect>`, or closed axis-aligned
// unit paths) filled black on whole-module coordinates. Anything else is refused by the caller
// naming what it is not.

/** Pixels per module: jsQR needs a few per module and a quiet zone, both kept. */
const SCALE = 4;
/** At most this many modules a side (a version-40 QR code is 177, with its quiet zone 185). */
const MAX_MODULES = 400;

export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A grid of modules, light by default. */
class ModuleGrid {
  readonly dark: Uint8Array;
  constructor(
    readonly cols: number,
    readonly rows: number,
  ) {
    this.dark = new Uint8Array(cols * rows);
  }
  set(col: number, row: number): void {
    if (col >= 0 && row >= 0 && col < this.cols && row < this.rows) this.dark[row * this.cols + col] = 1;
  }
  get count(): number {
    return this.dark.reduce((n, d) => n + d, 0);
  }
  toRgba(): RgbaImage {
    const width = this.cols * SCALE;
    const height = this.rows * SCALE;
    const data = new Uint8Array(width * height * 4).fill(0xff);
    for (let r = 0; r < this.rows; r++) {
      for (let c = 0; c < this.cols; c++) {
        if (!this.dark[r * this.cols + c]) continue;
        for (let y = r * SCALE; y < (r + 1) * SCALE; y++) {
          for (let x = c * SCALE; x < (c + 1) * SCALE; x++)
            data.fill(0, (y * width + x) * 4, (y * width + x) * 4 + 3);
        }
      }
    }
    return { width, height, data };
  }
}

const isDarkFill = (attrs: string): boolean => /\bfill\s*=\s*["'](?:#000|#000000|black)["']/i.test(attrs);

function attr(attrs: string, name: string): number | undefined {
  const m = new RegExp(`\\b${name}\\s*=\\s*["']\\s*(-?[0-9.]+)\\s*["']`).exec(attrs);
  return m ? Number(m[1]) : undefined;
}

/** Fills the whole-module cells of the rectangle [x, x+w) x [y, y+h). */
function fillRect(grid: ModuleGrid, x: number, y: number, w: number, h: number): void {
  for (let r = Math.round(y); r < Math.round(y + h); r++) {
    for (let c = Math.round(x); c < Math.round(x + w); c++) grid.set(c, r);
  }
}

/** The subpaths of a path of M/m, H/h, V/v, L/l and Z/z, each filled as its bounding rectangle. */
function fillPath(grid: ModuleGrid, d: string): boolean {
  const tokens = d.match(/[MmHhVvLlZz]|-?[0-9]*\.?[0-9]+(?:e-?[0-9]+)?/g) ?? [];
  let x = 0;
  let y = 0;
  let points: [number, number][] = [];
  const close = (): void => {
    if (points.length < 4) return;
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    const [x0, y0] = [Math.min(...xs), Math.min(...ys)];
    fillRect(grid, x0, y0, Math.max(...xs) - x0, Math.max(...ys) - y0);
  };
  for (let i = 0; i < tokens.length;) {
    const cmd = tokens[i++]!;
    const num = (): number => {
      const n = Number(tokens[i++]);
      if (!Number.isFinite(n)) throw new RangeError('path number');
      return n;
    };
    try {
      switch (cmd) {
        case 'M':
        case 'm':
          close();
          [x, y] = cmd === 'M' ? [num(), num()] : [x + num(), y + num()];
          points = [[x, y]];
          break;
        case 'H':
          x = num();
          break;
        case 'h':
          x += num();
          break;
        case 'V':
          y = num();
          break;
        case 'v':
          y += num();
          break;
        case 'L':
          [x, y] = [num(), num()];
          break;
        case 'l':
          [x, y] = [x + num(), y + num()];
          break;
        case 'Z':
        case 'z':
          close();
          points = [];
          continue;
        default:
          return false; // a number where a command was expected, or a curve
      }
    } catch {
      return false;
    }
    if (cmd !== 'M' && cmd !== 'm') points.push([x, y]);
  }
  close();
  return true;
}

/**
 * The factory's label.svg as pixels, or (a string) the reason why this SVG is not one: no viewBox
 * in modules, a shape that is not a rectangle, or no dark module at all.
 */
export function rasterizeLabelSvg(svg: string): RgbaImage | string {
  const box = /<svg\b[^>]*\bviewBox\s*=\s*["']\s*0[ ,]+0[ ,]+([0-9.]+)[ ,]+([0-9.]+)\s*["']/.exec(svg);
  const cols = Math.ceil(Number(box?.[1]));
  const rows = Math.ceil(Number(box?.[2]));
  if (!box || !(cols > 0 && rows > 0 && cols <= MAX_MODULES && rows <= MAX_MODULES)) {
    return 'an SVG without the viewBox of a label (0 0 width height, in modules)';
  }
  const grid = new ModuleGrid(cols, rows);
  for (const m of svg.matchAll(/<(path|rect)\b([^>]*)>/g)) {
    const attrs = m[2]!;
    if (!isDarkFill(attrs)) continue;
    if (m[1] === 'rect') {
      fillRect(
        grid,
        attr(attrs, 'x') ?? 0,
        attr(attrs, 'y') ?? 0,
        attr(attrs, 'width') ?? 0,
        attr(attrs, 'height') ?? 0,
      );
    } else {
      const d = /\bd\s*=\s*["']([^"']*)["']/.exec(attrs)?.[1] ?? '';
      if (!fillPath(grid, d)) return 'an SVG whose shapes are not the squares of a QR label';
    }
  }
  if (grid.count === 0) return 'an SVG without any dark square of a QR code';
  return grid.toRgba();
}

const BLOCKS: Record<string, [boolean, boolean]> = {
  ' ': [false, false],
  '█': [true, true],
  '▀': [true, false],
  '▄': [false, true],
};

/**
 * The factory's label.txt (the terminal rendering) as pixels, or a reason why this text is not
 * one. The code is the first run of lines made only of block characters and spaces; what follows
 * (the caption) is ignored.
 */
export function rasterizeLabelText(text: string): RgbaImage | string {
  const lines = text.replace(/\r/g, '').split('\n');
  const isArt = (l: string): boolean => [...l].every((ch) => ch in BLOCKS);
  const hasBlock = (l: string): boolean => /[█▀▄]/.test(l);
  const first = lines.findIndex(hasBlock);
  if (first < 0) return 'text with no QR code drawn in block characters';
  let start = first;
  while (start > 0 && isArt(lines[start - 1]!)) start--; // the quiet zone above, blank lines
  let end = first;
  while (end < lines.length && isArt(lines[end]!)) end++;
  const art = lines.slice(start, end);
  const cols = Math.max(...art.map((l) => [...l].length));
  if (art.length * 2 > MAX_MODULES || cols > MAX_MODULES) return 'a block drawing too large for a QR label';
  // A quiet zone of 4 modules around whatever the file kept (trailing spaces may be trimmed).
  const grid = new ModuleGrid(cols + 8, art.length * 2 + 8);
  art.forEach((line, i) => {
    [...line].forEach((ch, c) => {
      const [top, bottom] = BLOCKS[ch]!;
      if (top) grid.set(c + 4, 2 * i + 4);
      if (bottom) grid.set(c + 4, 2 * i + 5);
    });
  });
  return grid.toRgba();
}
