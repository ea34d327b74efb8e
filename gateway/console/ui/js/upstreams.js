import { get } from './api.js';
import { $, h } from './dom.js';

export async function showUpstreams() {
  const { data } = await get('/console/api/upstreams');
  const cards = data.map((u) => {
    const counts = { healthy: 0, ejected: 0, unhealthy: 0 };
    u.instances.forEach((i) => { counts[i.state]++; });
    return h('article', { class: 'card', dataset: { upstream: u.name }, 'aria-labelledby': 'up-' + u.name },
      h('h3', { id: 'up-' + u.name, text: u.name }),
      h('p', { class: 'hint', text: `${u.admitted} of ${u.instances.length} admitted · ${counts.healthy} healthy, ${counts.ejected} ejected, ${counts.unhealthy} unhealthy` }),
      u.stale ? h('p', { class: 'note error', text: 'Discovery unreachable, last known set: ' + u.stale }) : null,
      u.panic ? h('p', { class: 'note error', dataset: { panic: '' }, text: 'In panic: fewer instances pass their health checks than the panic threshold, so requests go to all of them' }) : null,
      h('table', {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Instance' }), h('th', { scope: 'col', text: 'Health' }),
          h('th', { scope: 'col', class: 'num', text: 'In flight' }), h('th', { scope: 'col', class: 'num', text: 'Failures' }))),
        h('tbody', {}, u.instances.map((i) => h('tr', { dataset: { instance: i.addr, state: i.state } },
          h('td', { class: 'mono', text: i.addr }),
          h('td', {}, h('span', { class: 'badge health-' + i.state, text: i.state }),
            i.ejected_until ? h('span', { class: 'hint', text: ' until ' + new Date(i.ejected_until).toLocaleTimeString() }) : null),
          h('td', { class: 'num', text: i.in_flight }),
          h('td', { class: 'num', text: i.consecutive_failures }))))));
  });
  $('#upstreams').replaceChildren(...(cards.length ? cards : [h('p', { text: 'No upstreams.' })]));
}
