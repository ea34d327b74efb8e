import { $, h } from './dom.js';

// What the page knows; each view reads it and the loaders refresh it.
export const state = {
  name: '', role: '',
  routes: [], rev: null,       // GET /admin/routes and its revision (the state's)
  upstreamNames: [],
  audit: [],                   // GET /admin/revisions
  series: new Map(),           // API → [{t, qps, p50, p99, error_rate, in_flight}]
  replicaSeries: new Map(),    // replica → [{t, stats}]
  latest: null,                // the newest stats sample
  lastSeq: 0, everyMs: 1000,
};

export const RANK = { viewer: 1, operator: 2, admin: 3 };
export const can = (need) => (RANK[state.role] || 0) >= RANK[need];

export function notify(text, kind = 'info') {
  const box = $('#status');
  box.replaceChildren(h('p', { class: 'note ' + kind, text }));
  if (kind !== 'error') setTimeout(() => { if (box.textContent === text) box.replaceChildren(); }, 6000);
}
