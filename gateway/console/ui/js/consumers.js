import { call, get } from './api.js';
import { $, h, fill } from './dom.js';
import { state, can, notify } from './state.js';
import { field, confirmAction } from './forms.js';
import { loadRoutes } from './apis.js';

export async function showConsumers() {
  const [cons] = await Promise.all([get('/admin/consumers'), loadRoutes()]);
  const list = (xs) => (xs && xs.length ? xs.join(', ') : '–');
  fill($('#consumers-table tbody'), cons.data.map((c) => h('tr', { dataset: { consumer: c.id } },
    h('th', { scope: 'row', text: c.id }),
    h('td', { text: list(c.roles) }),
    h('td', { text: list(c.groups) }),
    // Only the ids: the API keeps hashes, and the page shows not even those.
    h('td', { class: 'mono', text: list((c.api_keys || []).map((k) => k.id)) }),
    h('td', {}, h('span', { class: 'badge ' + (c.disabled ? 'state-retired' : 'state-published'), text: c.disabled ? 'disabled' : 'active' })))),
  'No consumers.', 5);
  renderLimits();
}

function renderLimits() {
  const rows = [];
  state.routes.forEach((r, i) => (r.rate_limit || []).forEach((p, k) => {
    rows.push(h('tr', { dataset: { route: r.name, policy: k } },
      h('th', { scope: 'row', text: r.name }),
      h('td', { text: p.name || (k === 0 ? r.name : `${r.name}#${k + 1}`) }),
      h('td', { text: p.key || 'route' }),
      h('td', { class: 'num', text: p.rate }),
      h('td', { text: p.per || '1s' }),
      h('td', { class: 'num', text: p.burst || p.rate }),
      h('td', {}, can('operator') ? h('button', { type: 'button', class: 'small', dataset: { action: 'edit-limit' },
        'aria-label': `Edit the flow limit of ${r.name}`, text: 'Edit', onclick: () => editLimit(r, i, k) }) : null)));
  }));
  fill($('#limits-table tbody'), rows, 'No route has a flow limit.', 7);
}

function editLimit(r, i, k) {
  const p = r.rate_limit[k];
  const ptr = `/rate_limit/${k}`;
  confirmAction({
    title: 'Flow limit of ' + r.name,
    text: `Requests allowed per period, per ${p.key || 'route'}; the burst is the bucket size.`,
    prefix: '/routes/' + i,
    ok: 'Save',
    fields: [field('lf-rate', 'Rate (requests)', { value: p.rate, pointer: ptr + '/rate', type: 'number' }),
      field('lf-per', 'Period (e.g. 1s, 1m)', { value: p.per || '1s', pointer: ptr + '/per' }),
      field('lf-burst', 'Burst (empty: the rate)', { value: p.burst || '', pointer: ptr + '/burst', type: 'number' })],
    run: async (v) => {
      const body = structuredClone(r);
      body.rate_limit[k] = { ...p, rate: Number(v['lf-rate']), per: v['lf-per'] || undefined, burst: v['lf-burst'] ? Number(v['lf-burst']) : undefined };
      await call('PUT', '/admin/routes/' + encodeURIComponent(r.name), { body, rev: state.rev, message: `flow limit of ${r.name} (console)` });
      notify(`Flow limit of ${r.name} saved.`);
      await showConsumers();
    },
  });
}
