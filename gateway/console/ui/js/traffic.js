import { get } from './api.js';
import { $, h, fill, fmtMs, fmtPct, fmtQPS } from './dom.js';
import { state } from './state.js';
import { sparkline } from './chart.js';

// pollStats fetches the samples newer than the last one seen and appends
// them to each API's and replica's series (kept as long as the server keeps
// samples).
export async function pollStats() {
  const { data } = await get('/console/api/stats?after=' + state.lastSeq);
  state.everyMs = data.every_ms;
  const keep = Math.max(60, Math.round(300000 / data.every_ms));
  for (const smp of data.samples) {
    state.lastSeq = smp.seq;
    state.latest = smp;
    const seen = new Set();
    for (const [name, row] of Object.entries(smp.routes)) {
      if (!state.series.has(name)) state.series.set(name, []);
      state.series.get(name).push({ t: smp.time, ...row });
      seen.add(name);
    }
    for (const [name, arr] of state.series) if (!seen.has(name)) arr.push({ t: smp.time, qps: 0, p50: null, p99: null, error_rate: 0, in_flight: 0 });
    for (const rep of smp.replicas) {
      if (!state.replicaSeries.has(rep.name)) state.replicaSeries.set(rep.name, []);
      state.replicaSeries.get(rep.name).push({ t: smp.time, ...rep });
    }
  }
  for (const arr of [...state.series.values(), ...state.replicaSeries.values()]) if (arr.length > keep) arr.splice(0, arr.length - keep);
  return data.samples.length > 0;
}

export function renderTraffic() {
  const names = [...state.series.keys()].sort();
  fill($('#traffic-table tbody'), names.map((name) => {
    const arr = state.series.get(name);
    const cur = arr[arr.length - 1];
    const isCall = name.includes(' › ');
    return h('tr', { dataset: { route: name }, class: isCall ? 'call' : '' },
      h('th', { scope: 'row', text: name }),
      h('td', { class: 'num qps big', text: fmtQPS(cur.qps) }),
      h('td', {}, sparkline(arr.map((x) => x.qps), { label: name + ' QPS', fmt: fmtQPS })),
      h('td', { class: 'num p50', text: fmtMs(cur.p50) }),
      h('td', { class: 'num p99', text: fmtMs(cur.p99) }),
      h('td', {}, sparkline(arr.map((x) => x.p99), { label: name + ' p99', fmt: fmtMs })),
      h('td', { class: 'num err' + (cur.error_rate > 0.01 ? ' bad' : ''), text: fmtPct(cur.error_rate) }),
      h('td', { class: 'num', text: cur.in_flight ?? '–' }));
  }), 'No traffic measured yet.', 8);

  const reps = [...state.replicaSeries.keys()];
  $('#replicas').hidden = reps.length < 2;
  if (reps.length >= 2) {
    fill($('#replicas-table tbody'), reps.map((name) => {
      const arr = state.replicaSeries.get(name);
      const cur = arr[arr.length - 1];
      const st = cur.stats || {};
      return h('tr', { dataset: { replica: name } },
        h('th', { scope: 'row', text: name }),
        cur.error ? h('td', { colspan: 4, class: 'bad', text: 'cannot be read: ' + cur.error })
          : [h('td', { class: 'num', text: fmtQPS(st.qps) }), h('td', { class: 'num', text: fmtMs(st.p50) }),
            h('td', { class: 'num', text: fmtMs(st.p99) }), h('td', { class: 'num', text: fmtPct(st.error_rate) })],
        h('td', {}, sparkline(arr.map((x) => (x.stats ? x.stats.qps : null)), { label: name + ' QPS', fmt: fmtQPS })));
    }), '', 6);
  }
}

// loadAutoscaling shows the HPA view when the server has one (404: hidden).
export async function loadAutoscaling() {
  try {
    const { data } = await get('/console/api/autoscaling');
    const dl = $('#autoscaling-dl');
    dl.replaceChildren(...[['HPA', data.hpa], ['Replicas', `${data.current_replicas} (desired ${data.desired_replicas}, ${data.min_replicas}–${data.max_replicas})`],
      ['QPS per pod', `${fmtQPS(data.qps_per_pod)} (target ${fmtQPS(data.target_qps_per_pod)})`]].flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]));
    $('#autoscaling').hidden = false;
  } catch {
    $('#autoscaling').hidden = true;
  }
}

// loadCluster shows every replica's traffic per API from Prometheus when the
// server has a Prometheus URL (404: hidden).
export async function loadCluster() {
  let data;
  try {
    ({ data } = await get('/console/api/cluster'));
  } catch (err) {
    $('#cluster').hidden = err.status === 404;
    if (err.status !== 404) $('#cluster-hint').textContent = '(cannot be read: ' + err.message + ')';
    return;
  }
  $('#cluster-hint').textContent = `(Prometheus, last ${data.window}, ${data.instances} instance${data.instances === 1 ? '' : 's'})`;
  fill($('#cluster-table tbody'), Object.keys(data.routes).sort().map((name) => {
    const r = data.routes[name];
    return h('tr', { dataset: { route: name } }, h('th', { scope: 'row', text: name }),
      h('td', { class: 'num qps', text: fmtQPS(r.qps) }), h('td', { class: 'num', text: fmtMs(r.p50) }),
      h('td', { class: 'num', text: fmtMs(r.p99) }), h('td', { class: 'num', text: fmtPct(r.error_rate) }));
  }), 'Prometheus has no gateway traffic yet.', 5);
  $('#cluster').hidden = false;
}
