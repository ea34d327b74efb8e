// Small DOM helpers: every text goes through textContent (never innerHTML),
// so nothing the API returns is parsed as markup.
const SVGNS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);
export const s = (tag, attrs, ...children) => build(document.createElementNS(SVGNS, tag), attrs, children);
export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function fill(tbody, rows, empty, cols) {
  tbody.replaceChildren(...rows);
  if (rows.length === 0) tbody.append(h('tr', {}, h('td', { colspan: cols, class: 'empty', text: empty })));
}

export function fmtMs(sec) {
  if (sec === null || sec === undefined) return '–';
  const ms = sec * 1000;
  return ms < 10 ? ms.toFixed(2) + ' ms' : ms < 1000 ? ms.toFixed(0) + ' ms' : (ms / 1000).toFixed(2) + ' s';
}
export const fmtQPS = (q) => (q === null || q === undefined) ? '–' : (q < 10 ? q.toFixed(1) : q.toFixed(0));
export const fmtPct = (r) => (r === null || r === undefined) ? '–' : (r * 100).toFixed(r < 0.1 ? 1 : 0) + '%';
