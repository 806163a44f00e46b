// Small SVG charts for the DORA metrics: bars with a value axis, labelled for screen readers.
import { s } from './dom.js';

const W = 560;
const H = 180;
const M = { top: 12, right: 8, bottom: 28, left: 44 };

/** A "nice" maximum for the axis: 1, 2 or 5 times a power of ten. */
export function niceMax(value) {
  if (!(value > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= value);
}

/**
 * bars: [{ label, value, title, tone?, parts?: [{ value, tone }] }]; format(value) labels the axis.
 */
export function barChart({ bars, format = String, title, emptyText = 'nothing in this period' }) {
  const max = niceMax(Math.max(0, ...bars.map((b) => b.value)));
  const innerW = W - M.left - M.right;
  const innerH = H - M.top - M.bottom;
  const step = innerW / Math.max(bars.length, 1);
  const bw = Math.max(2, Math.min(28, step * 0.7));
  const y = (v) => M.top + innerH - (v / max) * innerH;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  svg.append(s('title', {}, title));
  const empty = !bars.some((b) => b.value > 0);
  for (const t of empty ? [0] : [0, max / 2, max]) {
    svg.append(s('line', { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t), class: 'grid' }));
    svg.append(s('text', { x: M.left - 6, y: y(t) + 4, class: 'axis', 'text-anchor': 'end' }, format(t)));
  }
  if (empty) {
    svg.append(s('text', { x: M.left + innerW / 2, y: M.top + innerH / 2, class: 'empty', 'text-anchor': 'middle' }, emptyText));
  }
  const labelEvery = Math.ceil(bars.length / 8);
  bars.forEach((b, i) => {
    const x = M.left + i * step + (step - bw) / 2;
    const parts = b.parts ?? [{ value: b.value, tone: b.tone ?? 'bar' }];
    let base = 0;
    const g = s('g', { class: 'bar' }, s('title', {}, b.title ?? `${b.label}: ${format(b.value)}`));
    for (const part of parts) {
      if (part.value <= 0) continue;
      g.append(
        s('rect', { x, y: y(base + part.value), width: bw, height: y(base) - y(base + part.value), class: part.tone ?? 'bar' }),
      );
      base += part.value;
    }
    svg.append(g);
    if (i % labelEvery === 0) {
      svg.append(s('text', { x: x + bw / 2, y: H - 10, class: 'axis', 'text-anchor': 'middle' }, b.label));
    }
  });
  return svg;
}
