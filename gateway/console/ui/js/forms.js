import { $, $$, h } from './dom.js';

// clearErrors removes the marks showErrors left in form.
export function clearErrors(form, box) {
  for (const f of $$('[data-pointer]', form)) {
    f.removeAttribute('aria-invalid');
    const e = document.getElementById(f.getAttribute('aria-describedby') || '');
    if (e) { e.textContent = ''; e.hidden = true; }
  }
  box.replaceChildren();
  box.hidden = true;
}

// showErrors places each problem of an admin API refusal next to the field
// its JSON pointer names: prefix is the object's place in the whole state
// ("/routes/3"), stripped before matching the fields' data-pointer; the
// deepest field whose pointer contains the problem's wins. The rest are
// listed at the top of the form. The first marked field gets the focus.
export function showErrors(form, box, err, prefix = '') {
  clearErrors(form, box);
  const fields = $$('[data-pointer]', form);
  const unplaced = [];
  let first = null;
  const problems = err.errors && err.errors.length ? err.errors : [{ pointer: '', detail: err.message }];
  for (const e of problems) {
    let p = e.pointer || '';
    if (prefix && (p === prefix || p.startsWith(prefix + '/'))) p = p.slice(prefix.length);
    let best = null;
    for (const f of fields) {
      const fp = f.dataset.pointer;
      if ((p === fp || p.startsWith(fp + '/')) && (!best || fp.length > best.dataset.pointer.length)) best = f;
    }
    if (!best || p === '') { unplaced.push(e); continue; }
    best.setAttribute('aria-invalid', 'true');
    const msg = document.getElementById(best.getAttribute('aria-describedby') || '');
    if (msg) {
      msg.textContent = msg.textContent ? msg.textContent + ' ' + e.detail : e.detail;
      msg.hidden = false;
    }
    first = first || best;
  }
  if (unplaced.length) {
    box.append(h('p', { text: err.message || 'The change was refused.' }),
      h('ul', {}, unplaced.map((e) => h('li', { text: (e.pointer ? e.pointer + ': ' : '') + e.detail }))));
    box.hidden = false;
  }
  (first || box).focus?.();
}

// field makes one labelled input with its error slot.
export function field(id, label, { value = '', pointer, type = 'text', hint } = {}) {
  const errId = id + '-err';
  return h('div', { class: 'field' },
    h('label', { for: id, text: label }),
    hint ? h('p', { class: 'hint', id: id + '-hint', text: hint }) : null,
    h('input', { id, name: id, type, value, 'data-pointer': pointer, 'aria-describedby': errId, autocomplete: 'off' }),
    h('p', { class: 'field-error', id: errId, hidden: true }));
}

export function values(root) {
  const out = {};
  for (const el of $$('input, select, textarea', root)) out[el.name] = el.value.trim();
  return out;
}

// confirmAction opens the confirmation dialog; run(values) does the write
// and throws an APIError to keep the dialog open with its problems shown.
export function confirmAction({ title, text, fields = [], diff = null, ok = 'Confirm', prefix = '', run }) {
  const dlg = $('#confirm-dialog');
  const form = $('#confirm-form');
  const box = $('#confirm-errors');
  $('#confirm-h').textContent = title;
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = ok;
  $('#confirm-fields').replaceChildren(...fields);
  const pre = $('#confirm-diff');
  pre.replaceChildren();
  pre.hidden = !diff;
  if (diff) {
    for (const d of diff) {
      const cls = d.op === '+' ? 'add' : d.op === '-' ? 'del' : d.op === '…' ? 'gap' : 'same';
      pre.append(h('span', { class: 'dl ' + cls, text: (d.op === '…' ? '…' : d.op + ' ' + d.line) + '\n' }));
    }
  }
  clearErrors(form, box);
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const btn = $('#confirm-ok');
    btn.disabled = true;
    try {
      await run(values($('#confirm-fields')));
      dlg.close();
    } catch (err) {
      showErrors(form, box, err, prefix);
    } finally {
      btn.disabled = false;
    }
  };
  $('#confirm-cancel').onclick = () => dlg.close();
  dlg.showModal();
  (fields.length ? $('input', $('#confirm-fields')) : $('#confirm-ok')).focus();
}
