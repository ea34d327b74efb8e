import { s } from './dom.js';

// sparkline draws values (nulls are gaps) as a small SVG line chart.
export function sparkline(values, { label, width = 160, height = 32, fmt = String } = {}) {
  const finite = values.filter((v) => v !== null && v !== undefined && Number.isFinite(v));
  const maxV = Math.max(...finite, 0) || 1;
  const n = Math.max(values.length, 2);
  const x = (i) => (i * (width - 2)) / (n - 1) + 1;
  const y = (v) => height - 2 - (v / maxV) * (height - 4);
  const segs = [];
  let cur = [];
  values.forEach((v, i) => {
    if (v === null || v === undefined || !Number.isFinite(v)) { if (cur.length) segs.push(cur); cur = []; return; }
    cur.push(x(i).toFixed(1) + ',' + y(v).toFixed(1));
  });
  if (cur.length) segs.push(cur);
  const last = finite.length ? finite[finite.length - 1] : null;
  const desc = `${label}: ${values.length} seconds, max ${fmt(maxV)}, latest ${last === null ? 'none' : fmt(last)}`;
  return s('svg', { class: 'spark', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': desc },
    s('title', { text: desc }),
    s('line', { x1: 0, x2: width, y1: height - 1, y2: height - 1, class: 'axis' }),
    ...segs.map((pts) => s('polyline', { points: pts.join(' '), class: 'line' })));
}
