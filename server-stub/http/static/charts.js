// SVG charts the dashboard draws itself (no library, nothing fetched): horizontal bars with each
// value written beside its bar, and columns over days. Kinds differ by fill pattern (solid, stripes,
// dots, cross-hatch) as well as colour, so a chart reads in greyscale or printed; each chart is
// role="img" with an aria-label that says what it shows, each bar carries a <title>, and the page
// puts the same figures in a table next to it. Data rectangles have class "bar" and data-label /
// data-value attributes (what the browser tests count).
const NS = 'http://www.w3.org/2000/svg';
export const PATTERNS = ['solid', 'stripes', 'dots', 'cross'];
let chartCount = 0;

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** <defs> with one pattern per kind, ids prefixed by the chart's id. */
function patternDefs(id) {
  const p = (name, ...shapes) =>
    svg('pattern', { id: `${id}-${name}`, width: 8, height: 8, patternUnits: 'userSpaceOnUse' }, ...shapes);
  return svg(
    'defs',
    {},
    p('solid', svg('rect', { width: 8, height: 8, fill: '#0b57d0' })),
    p(
      'stripes',
      svg('rect', { width: 8, height: 8, fill: '#fde7e4' }),
      svg('path', { d: 'M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4', stroke: '#b3261e', 'stroke-width': 2 }),
    ),
    p(
      'dots',
      svg('rect', { width: 8, height: 8, fill: '#fff4d6' }),
      svg('circle', { cx: 4, cy: 4, r: 2, fill: '#7a4f00' }),
    ),
    p(
      'cross',
      svg('rect', { width: 8, height: 8, fill: '#e3f1e5' }),
      svg('path', { d: 'M0,4 h8 M4,0 v8', stroke: '#1e7d32', 'stroke-width': 1.5 }),
    ),
  );
}

/**
 * Horizontal bars: bars = [{ label, value, max?, pattern?, text? }]. With `max` (a quota) the bar's
 * full length is the quota, outlined, and the value fills part of it.
 */
export function barChart(summary, bars) {
  const id = `chart${++chartCount}`;
  const W = 720;
  const ROW = 30;
  const LABEL_W = 230;
  const BAR_W = 330;
  const H = Math.max(1, bars.length) * ROW + 10;
  const top = Math.max(1, ...bars.map((b) => b.max ?? b.value));
  const scale = (v) => (v / top) * BAR_W;
  const rows = bars.map((b, i) => {
    const y = 5 + i * ROW;
    const full = b.max === undefined ? undefined : scale(b.max);
    const text = b.text ?? String(b.value);
    return svg(
      'g',
      {},
      svg('text', { x: LABEL_W - 8, y: y + 19, 'text-anchor': 'end', class: 'chart-label' }, b.label),
      full === undefined
        ? null
        : svg('rect', { x: LABEL_W, y: y + 4, width: Math.max(1, full), height: 20, class: 'quota' }),
      svg(
        'rect',
        {
          x: LABEL_W,
          y: y + 4,
          width: b.value > 0 ? Math.max(2, scale(b.value)) : 0,
          height: 20,
          fill: `url(#${id}-${b.pattern ?? 'solid'})`,
          class: 'bar',
          'data-label': b.label,
          'data-value': b.value,
        },
        svg('title', {}, `${b.label}: ${text}`),
      ),
      svg('text', { x: LABEL_W + (full ?? scale(b.value)) + 8, y: y + 19, class: 'chart-value' }, text),
    );
  });
  return svg(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': summary, class: 'chart', id },
    patternDefs(id),
    bars.length ? rows : svg('text', { x: 10, y: 22, class: 'chart-label' }, 'Nothing yet'),
  );
}

/** Columns over consecutive days: days = [{ day: 'YYYY-MM-DD', count }] for every day shown. */
export function columnChart(summary, days) {
  const id = `chart${++chartCount}`;
  const W = 720;
  const H = 220;
  const LEFT = 40;
  const BOTTOM = 30;
  const plotH = H - BOTTOM - 20;
  const top = Math.max(1, ...days.map((d) => d.count));
  const step = (W - LEFT - 10) / Math.max(1, days.length);
  const cols = days.map((d, i) => {
    const h = (d.count / top) * plotH;
    return svg(
      'rect',
      {
        x: LEFT + i * step + 1,
        y: 20 + plotH - h,
        width: Math.max(1, step - 2),
        height: h,
        fill: `url(#${id}-solid)`,
        class: d.count > 0 ? 'bar' : 'bar empty',
        'data-label': d.day,
        'data-value': d.count,
      },
      svg('title', {}, `${d.day}: ${d.count}`),
    );
  });
  const axis = [
    svg('line', { x1: LEFT, y1: 20 + plotH, x2: W - 10, y2: 20 + plotH, class: 'axis' }),
    svg('line', { x1: LEFT, y1: 20, x2: LEFT, y2: 20 + plotH, class: 'axis' }),
    svg('text', { x: LEFT - 6, y: 26, 'text-anchor': 'end', class: 'chart-value' }, top),
    svg('text', { x: LEFT - 6, y: 20 + plotH, 'text-anchor': 'end', class: 'chart-value' }, 0),
    days.length ? svg('text', { x: LEFT, y: H - 8, class: 'chart-label' }, days[0].day) : null,
    days.length > 1
      ? svg(
          'text',
          { x: W - 10, y: H - 8, 'text-anchor': 'end', class: 'chart-label' },
          days[days.length - 1].day,
        )
      : null,
  ];
  return svg(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': summary, class: 'chart', id },
    patternDefs(id),
    axis,
    cols,
  );
}
