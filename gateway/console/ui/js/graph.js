import { get } from './api.js';
import { $, h, s, fmtMs, fmtPct } from './dom.js';

const W = 170, H = 46, GX = 340, GY = 70, PAD = 12;

// showGraphs draws each route as a left-to-right graph: the route, then its
// upstream or its composite calls in layers (a call one layer right of the
// deepest call it needs), edges labelled with their target's p99 and errors.
export async function showGraphs() {
  const { data } = await get('/console/api/graph');
  $('#graphs').replaceChildren(...data.map(draw));
}

function draw(g) {
  const byLayer = new Map();
  for (const n of g.nodes) {
    if (!byLayer.has(n.layer)) byLayer.set(n.layer, []);
    byLayer.get(n.layer).push(n);
  }
  const pos = new Map();
  let rows = 1;
  for (const [layer, nodes] of byLayer) {
    rows = Math.max(rows, nodes.length);
    nodes.forEach((n, i) => pos.set(n.id, { x: PAD + layer * GX, y: PAD + i * GY }));
  }
  const layers = Math.max(...byLayer.keys()) + 1;
  const width = PAD * 2 + (layers - 1) * GX + W, height = PAD * 2 + (rows - 1) * GY + H;
  const markerId = 'arrow-' + g.route.replace(/[^A-Za-z0-9_-]/g, '_');
  const desc = `${g.route}: ${g.nodes.length} nodes, ${g.edges.length} edges` +
    (g.composite ? ' (composite: ' + g.nodes.filter((n) => n.kind === 'call').map((n) => n.label).join(', ') + ')' : '');
  const edges = g.edges.map((e) => {
    const a = pos.get(e.from), b = pos.get(e.to);
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x - 4, y2 = b.y + H / 2;
    const mx = (x1 + x2) / 2;
    const label = e.stats ? `p99 ${fmtMs(e.stats.p99)} · ${fmtPct(e.stats.error_rate)} err` : '';
    return s('g', { class: 'edge' + (e.stats && e.stats.error_rate > 0.01 ? ' bad' : ''), 'data-from': e.from, 'data-to': e.to },
      s('path', { d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, 'marker-end': `url(#${markerId})` }),
      label ? s('title', { text: `${e.from} → ${e.to}: ${label}` }) : null);
  });
  // Labels last, so no node covers them; each sits above its edge's middle.
  const labels = g.edges.filter((e) => e.stats).map((e) => {
    const a = pos.get(e.from), b = pos.get(e.to);
    const x = (a.x + W + b.x) / 2, y = (a.y + b.y) / 2 + H / 2 - 6;
    return s('text', { x, y, 'text-anchor': 'middle', class: 'edge-label', 'data-from': e.from, 'data-to': e.to,
      text: `p99 ${fmtMs(e.stats.p99)} · ${fmtPct(e.stats.error_rate)} err` });
  });
  const nodes = g.nodes.map((n) => {
    const p = pos.get(n.id);
    const sub = n.kind === 'route' ? g.match : n.kind === 'call' ? '→ ' + n.upstream + (n.for_each ? ' ×each' : '') + (n.optional ? ' (optional)' : '') : 'upstream';
    return s('g', { class: `node ${n.kind}`, 'data-id': n.id, 'data-kind': n.kind, transform: `translate(${p.x},${p.y})` },
      s('rect', { width: W, height: H, rx: 6 }),
      s('text', { x: 10, y: 19, class: 'node-label', text: n.label }),
      s('text', { x: 10, y: 36, class: 'node-sub', text: sub.length > 26 ? sub.slice(0, 25) + '…' : sub }));
  });
  return h('figure', { class: 'card graph', dataset: { route: g.route } },
    h('figcaption', {}, h('strong', { text: g.route }), ' ', h('span', { class: 'mono', text: g.match }), ' ',
      h('span', { class: 'badge state-' + g.lifecycle, text: g.lifecycle })),
    h('div', { class: 'scroll' }, s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': desc, 'data-route': g.route },
      s('title', { text: desc }),
      s('defs', {}, s('marker', { id: markerId, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }))),
      ...edges, ...nodes, ...labels)));
}
