import { call, get, hasToken, setToken, APIError } from './api.js';
import { $, $$ } from './dom.js';
import { state, notify } from './state.js';
import { initAPIs, loadRoutes, renderAPIs } from './apis.js';
import { showGraphs } from './graph.js';
import { showUpstreams } from './upstreams.js';
import { pollStats, renderTraffic, loadAutoscaling, loadCluster } from './traffic.js';
import { showConsumers } from './consumers.js';
import { showHistory } from './history.js';

// A blocked script, style or connection is a bug of the page: say so where
// an operator (and the browser tests) will see it.
document.addEventListener('securitypolicyviolation', (e) => {
  console.error('Content-Security-Policy violation:', e.violatedDirective, e.blockedURI);
});

// Each view: what to load when shown, and how often to refresh it (ms, 0:
// only when shown). The traffic numbers are polled every sample period
// whatever the view (the APIs table shows them too).
const views = {
  apis: { show: async () => { await loadRoutes(); renderAPIs(); }, every: 5000 },
  graph: { show: showGraphs, every: 2000 },
  upstreams: { show: showUpstreams, every: 2000 },
  traffic: { show: async () => { renderTraffic(); await Promise.all([loadAutoscaling(), loadCluster()]); }, every: 5000 },
  consumers: { show: showConsumers, every: 0 },
  history: { show: showHistory, every: 0 },
};
let current = null;
let refresh = null;
let polling = null;

function viewFromHash() {
  const v = location.hash.replace(/^#/, '');
  return views[v] ? v : 'apis';
}

async function show(name) {
  current = name;
  for (const sec of $$('.view')) sec.hidden = sec.id !== 'view-' + name;
  for (const a of $$('#nav a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  clearInterval(refresh);
  await run(views[name].show);
  if (views[name].every) refresh = setInterval(() => { if (current === name && !$('dialog[open]')) run(views[name].show); }, views[name].every);
}

// run reports a failed load; a 401 (token revoked) signs out.
async function run(fn) {
  try {
    await fn();
  } catch (err) {
    if (err instanceof APIError && err.status === 401) { signOut('Your token is no longer accepted; sign in again.'); return; }
    notify(err.message, 'error');
  }
}

async function startPolling() {
  clearTimeout(polling);
  const tick = async () => {
    try {
      if (await pollStats()) {
        if (current === 'traffic') renderTraffic();
        if (current === 'apis') for (const td of $$('#apis-table tbody tr')) {
          const live = state.latest.routes[td.dataset.route];
          const cell = td.querySelector('.qps');
          if (cell) cell.textContent = live ? (live.qps < 10 ? live.qps.toFixed(1) : live.qps.toFixed(0)) : '–';
        }
      }
    } catch (err) {
      if (err instanceof APIError && err.status === 401) { signOut('Your token is no longer accepted; sign in again.'); return; }
    }
    polling = setTimeout(tick, state.everyMs || 1000);
  };
  await tick();
}

async function signIn() {
  const { data } = await get('/console/api/session');
  state.name = data.name;
  state.role = data.role;
  document.body.dataset.role = data.role;
  $('#who-name').textContent = data.name;
  $('#who-role').textContent = data.role;
  $('#login').hidden = true;
  $('#nav').hidden = false;
  $('#who').hidden = false;
  // Write controls exist only for roles that may write; the API refuses
  // the others anyway.
  for (const el of $$('[data-needs]')) el.hidden = !({ viewer: 1, operator: 2, admin: 3 }[data.role] >= { viewer: 1, operator: 2, admin: 3 }[el.dataset.needs]);
  await startPolling();
  await show(viewFromHash());
  $('#main').focus();
}

function signOut(msg) {
  setToken('');
  clearTimeout(polling);
  clearInterval(refresh);
  Object.assign(state, { name: '', role: '', lastSeq: 0, latest: null });
  state.series.clear();
  state.replicaSeries.clear();
  delete document.body.dataset.role;
  for (const sec of $$('.view')) sec.hidden = true;
  $('#nav').hidden = true;
  $('#who').hidden = true;
  $('#login').hidden = false;
  $('#token').value = '';
  if (msg) notify(msg, 'error');
  $('#token').focus();
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('#login-error');
  err.hidden = true;
  $('#token').removeAttribute('aria-invalid');
  setToken($('#token').value.trim());
  try {
    await signIn();
  } catch (e) {
    setToken('');
    err.textContent = e.status === 401 ? 'This token is not accepted.' : e.message;
    err.hidden = false;
    $('#token').setAttribute('aria-invalid', 'true');
    $('#token').setAttribute('aria-describedby', 'login-error');
    $('#token').focus();
  }
});
$('#signout').addEventListener('click', () => signOut(''));
window.addEventListener('hashchange', () => { if (state.role) show(viewFromHash()); });
initAPIs();

if (hasToken()) signIn().catch(() => signOut('')); else $('#token').focus();

// For the tests and the curious: the page's own client, with the token of
// this tab (the API enforces roles whatever the page shows).
window.gatescaleConsole = { call };
