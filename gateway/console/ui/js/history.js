import { call, get } from './api.js';
import { $, h, fill } from './dom.js';
import { state, can, notify } from './state.js';
import { confirmAction } from './forms.js';
import { lineDiff, withContext } from './diff.js';

export async function showHistory() {
  const [audit, cfg] = await Promise.all([get('/admin/revisions'), get('/admin/config')]);
  state.audit = audit.data;
  state.rev = cfg.rev;
  fill($('#history-table tbody'), audit.data.map((e) => h('tr', { dataset: { revision: e.revision } },
    h('th', { scope: 'row', text: 'r' + e.revision + (e.revision === cfg.rev ? ' (current)' : '') }),
    h('td', {}, h('time', { datetime: e.time, text: new Date(e.time).toLocaleString() })),
    h('td', { text: e.actor }),
    h('td', { text: e.message || '' }),
    h('td', { class: 'mono', text: (e.summary || []).join(' ') }),
    h('td', {}, can('admin') && e.revision !== cfg.rev ? h('button', { type: 'button', class: 'small', dataset: { action: 'rollback', revision: e.revision },
      'aria-label': 'Roll back to revision ' + e.revision, text: 'Roll back…', onclick: () => rollback(e.revision) }) : null))),
  'No revisions.', 6);
}

// rollback shows what going back to revision n changes, then writes it.
async function rollback(n) {
  const [old, cur] = await Promise.all([get('/admin/revisions/' + n), get('/admin/config')]);
  if (!old.data.config) {
    notify(`The state of revision ${n} is not kept any more.`, 'error');
    return;
  }
  const d = withContext(lineDiff(JSON.stringify(cur.data, null, 2), JSON.stringify(old.data.config, null, 2)));
  const changed = d.filter((x) => x.op === '+' || x.op === '-').length;
  confirmAction({
    title: 'Roll back to revision ' + n,
    text: changed ? `The state of revision ${n} is written as a new revision; ${changed} lines change (- now, + after):` : `Revision ${n} has the same state as now.`,
    diff: d, ok: 'Roll back',
    run: async () => {
      const res = await call('POST', '/admin/rollback/' + n, { rev: cur.rev, message: `rollback to revision ${n} (console)` });
      notify(`Rolled back to revision ${n}: now revision ${res.rev}.`);
      await showHistory();
    },
  });
}
