import { call, get } from './api.js';
import { $, h, fill, fmtQPS } from './dom.js';
import { state, can, notify } from './state.js';
import { clearErrors, showErrors, field, confirmAction } from './forms.js';

export async function loadRoutes() {
  const [routes, ups, audit] = await Promise.all([get('/admin/routes'), get('/admin/upstreams'), get('/admin/revisions')]);
  state.routes = routes.data;
  state.rev = routes.rev;
  state.upstreamNames = Object.keys(ups.data).sort();
  state.audit = audit.data;
}

const stateOf = (r) => (r.lifecycle && r.lifecycle.state) || 'published';

// versions lists the revisions that changed route name, newest first.
function versions(name) {
  return state.audit.filter((e) => (e.summary || []).some((s) => s.slice(1) === 'route/' + name));
}

let shown = '';

// renderAPIs redraws the table only when the routes or their history
// changed (the live QPS cells are updated in place), and keeps the keyboard
// focus on the same button across a redraw.
export function renderAPIs() {
  const sig = JSON.stringify([state.role, state.rev, state.routes, state.audit.map((e) => e.revision)]);
  if (sig === shown && $('#apis-table tbody tr')) return;
  shown = sig;
  const focused = document.activeElement && document.activeElement.closest('#apis-table') ? document.activeElement : null;
  const again = focused && focused.dataset.action ? `button[data-action="${focused.dataset.action}"][data-route="${CSS.escape(focused.dataset.route)}"]` : null;
  $('#apis-rev').textContent = state.rev ? 'revision ' + state.rev : '';
  $('#api-new').hidden = !can('operator');
  const rows = state.routes.map((r) => {
    const st = stateOf(r);
    const vs = versions(r.name);
    const live = state.latest && state.latest.routes[r.name];
    const actions = [];
    if (can('operator')) {
      const btn = (action, label) => h('button', { type: 'button', class: 'small', dataset: { action, route: r.name },
        'aria-label': `${label} ${r.name}`, text: label, onclick: () => lifecycleAction(r, action) });
      if (st === 'draft') actions.push(btn('publish', 'Publish'));
      if (st === 'published') actions.push(btn('deprecate', 'Deprecate'));
      if (st === 'deprecated') actions.push(btn('publish', 'Un-deprecate'));
      if (st === 'published' || st === 'deprecated') actions.push(btn('retire', 'Retire'));
      actions.push(h('button', { type: 'button', class: 'small quiet', dataset: { action: 'edit', route: r.name },
        'aria-label': 'Edit ' + r.name, text: 'Edit', onclick: () => openEditor(r) }));
    }
    const serves = r.composite ? `composite: ${r.composite.calls.length} calls` : '→ ' + r.upstream;
    return h('tr', { dataset: { route: r.name, state: st } },
      h('th', { scope: 'row', text: r.name }),
      h('td', { class: 'mono', text: (r.methods ? r.methods.join(',') + ' ' : '') + (r.path || (r.path_prefix ? r.path_prefix + '…' : '')) }),
      h('td', { text: serves }),
      h('td', {}, h('span', { class: 'badge state-' + st, text: st }),
        r.lifecycle && r.lifecycle.successor ? h('span', { class: 'hint', text: ' → ' + r.lifecycle.successor }) : null),
      h('td', { class: 'versions' }, vs.length ? vs.slice(0, 4).map((e) => h('span', { class: 'ver', title: `${e.actor}: ${e.message || ''}`, text: 'r' + e.revision })) : '–'),
      h('td', { class: 'num qps', text: live ? fmtQPS(live.qps) : '–' }),
      h('td', { class: 'actions' }, actions));
  });
  fill($('#apis-table tbody'), rows, 'No routes yet.', 7);
  if (again) ($(again) || $('#main')).focus();
}

// put writes a route with the revision the page last read; a 412 reloads.
async function putRoute(name, body, message) {
  try {
    await call('PUT', '/admin/routes/' + encodeURIComponent(name), { body, rev: state.rev, message });
  } catch (err) {
    if (err.status === 412) {
      await loadRoutes();
      renderAPIs();
      err.message = 'Someone changed the state meanwhile; the page now shows it. Check and try again. (' + err.message + ')';
    }
    throw err;
  }
  await loadRoutes();
  renderAPIs();
}

const indexOf = (name) => {
  const i = state.routes.findIndex((r) => r.name === name);
  return i < 0 ? state.routes.length : i;
};

function nowRFC3339() { return new Date().toISOString().replace(/\.\d+Z$/, 'Z'); }

function lifecycleAction(r, action) {
  const body = structuredClone(r);
  const prefix = '/routes/' + indexOf(r.name);
  const lc = { ...(r.lifecycle || {}) };
  let fields = [], text = '';
  if (action === 'publish') {
    text = `Publish ${r.name}: it is served to every client (no preview header needed).`;
  } else if (action === 'deprecate') {
    text = `Deprecate ${r.name}: it is still served, with Deprecation and Sunset headers.`;
    fields = [field('cf-sunset', 'Sunset (RFC 3339, optional)', { value: lc.sunset || '', pointer: '/lifecycle/sunset' }),
      field('cf-successor', 'Successor path or URL (optional)', { value: lc.successor || '', pointer: '/lifecycle/successor' })];
  } else if (action === 'retire') {
    text = `Retire ${r.name}: every request gets 410 Gone (naming the successor). A retired API cannot come back.`;
    fields = [field('cf-successor', 'Successor path or URL (optional)', { value: lc.successor || '', pointer: '/lifecycle/successor' })];
  }
  confirmAction({
    title: { publish: 'Publish', deprecate: 'Deprecate', retire: 'Retire' }[action] + ' ' + r.name,
    text, fields, prefix, ok: { publish: 'Publish', deprecate: 'Deprecate', retire: 'Retire' }[action],
    run: async (v) => {
      if (action === 'publish') body.lifecycle = { state: 'published' };
      if (action === 'deprecate') body.lifecycle = { state: 'deprecated', since: lc.since || nowRFC3339(), sunset: v['cf-sunset'] || undefined, successor: v['cf-successor'] || undefined };
      if (action === 'retire') body.lifecycle = { ...lc, state: 'retired', successor: v['cf-successor'] || undefined };
      await putRoute(r.name, body, `${action} route ${r.name} (console)`);
      notify(`${r.name}: ${action === 'retire' ? 'retired' : action === 'publish' ? 'published' : 'deprecated'}.`);
    },
  });
}

export function openEditor(r) {
  const dlg = $('#route-dialog');
  const form = $('#route-form');
  const box = $('#route-form-errors');
  const isNew = !r;
  const base = r ? structuredClone(r) : { name: '', lifecycle: { state: 'draft' } };
  $('#route-dialog-h').textContent = isNew ? 'New API' : 'Edit ' + r.name;
  $('#upstream-names').replaceChildren(...state.upstreamNames.map((u) => h('option', { value: u })));
  const set = (id, v) => { $('#' + id).value = v || ''; };
  set('rf-name', base.name);
  $('#rf-name').readOnly = !isNew;
  set('rf-path', base.path); set('rf-path_prefix', base.path_prefix);
  set('rf-methods', (base.methods || []).join(','));
  set('rf-upstream', base.upstream); set('rf-timeout', base.timeout);
  $('#rf-state').value = (base.lifecycle && base.lifecycle.state) || 'published';
  set('rf-successor', base.lifecycle && base.lifecycle.successor);
  set('rf-sunset', base.lifecycle && base.lifecycle.sunset);
  set('rf-message', '');
  clearErrors(form, box);
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const v = (id) => $('#' + id).value.trim();
    const name = v('rf-name');
    const body = structuredClone(base);
    body.name = name;
    for (const [k, id] of [['path', 'rf-path'], ['path_prefix', 'rf-path_prefix'], ['upstream', 'rf-upstream'], ['timeout', 'rf-timeout']]) {
      if (v(id)) body[k] = v(id); else delete body[k];
    }
    const methods = v('rf-methods').split(',').map((m) => m.trim().toUpperCase()).filter(Boolean);
    if (methods.length) body.methods = methods; else delete body.methods;
    const lc = { ...(base.lifecycle || {}), state: $('#rf-state').value, successor: v('rf-successor') || undefined, sunset: v('rf-sunset') || undefined };
    if (lc.state === 'deprecated' && !lc.since) lc.since = nowRFC3339();
    body.lifecycle = lc;
    if (!name) {
      showErrors(form, box, { message: 'The change was not sent.', errors: [{ pointer: '/name', detail: 'is required' }] });
      return;
    }
    const btn = $('#route-save');
    btn.disabled = true;
    try {
      await putRoute(name, body, v('rf-message') || `${isNew ? 'create' : 'edit'} route ${name} (console)`);
      dlg.close();
      notify(`${name} saved (revision ${state.rev}).`);
    } catch (err) {
      showErrors(form, box, err, '/routes/' + indexOf(name));
    } finally {
      btn.disabled = false;
    }
  };
  $('#route-cancel').onclick = () => dlg.close();
  dlg.showModal();
  (isNew ? $('#rf-name') : $('#rf-path')).focus();
}

export function initAPIs() {
  $('#api-new').addEventListener('click', () => openEditor(null));
}
