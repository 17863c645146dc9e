// server (the `liveboard-undo` header of a change, or the notice a form post left) → this module →
// the undo notice: "Moved to Done · Undo" for about 10 s. Its button undoes through the JSON API
// and the page stays; the card comes back through the live socket, as for everyone else.
//
// Without JavaScript the notice's form posts and the page reloads; this only enhances.

/**
 * The header naming the event a change recorded: POST /api/events/{seq}/undo reverts it. Lowercase
 * (header names are case-insensitive), so renaming the template keeps it a valid header name.
 */
const HEADER = 'liveboard-undo';

/** What the notice says after an undo, by the action the undo wrote. */
const UNDONE = { update: 'Change undone', create: 'Card restored', delete: 'Card creation undone' };

/** Answer the notice's button (and Ctrl+Z), and let the notice the page came with go when it expires. */
export function startUndo() {
  const region = document.getElementById('undo-notice');
  if (!region) return;
  region.addEventListener('submit', (e) => {
    const form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.undo) return;
    e.preventDefault();
    undo(form);
  });
  // The CSS hides the notice after its time; then it goes for good (and out of the tab order).
  region.addEventListener('animationend', (e) => {
    if (e.target instanceof Element && e.target.matches('.undo-notice')) e.target.remove();
  });
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'z' || !(e.ctrlKey || e.metaKey) || e.shiftKey || e.altKey) return;
    const t = e.target instanceof Element ? e.target : null;
    // Inside a text field, Ctrl+Z is the field's own undo.
    if (t?.closest('input, textarea, select, [contenteditable]') || document.querySelector('dialog[open]')) return;
    const button = region.querySelector('.undo-notice button');
    if (!button) return;
    e.preventDefault();
    button.click();
  });
}

/** After a change the page made without reloading: offer its undo, if the response names one. */
export function offerUndo(res, text) {
  const seq = Number(res.headers.get(HEADER));
  if (Number.isInteger(seq) && seq > 0) show(seq, text, 'Undo');
}

/**
 * Put a notice in the region, from the page's template; `button` null for a message alone.
 * `keepFocus`: the keyboard was on the notice this one replaces, and stays in it.
 */
function show(seq, text, button, keepFocus = false) {
  const region = document.getElementById('undo-notice');
  const template = /** @type {HTMLTemplateElement | null} */ (document.getElementById('undo-template'));
  const form = template?.content.firstElementChild?.cloneNode(true);
  if (!region || !(form instanceof HTMLFormElement)) return;
  form.action = `/events/${seq}/undo`;
  form.dataset.undo = String(seq);
  form.querySelector('.undo-text').textContent = text;
  const btn = form.querySelector('button');
  if (button) btn.textContent = button;
  else {
    btn.remove();
    form.lastChild?.remove(); // the " · " before it
    form.setAttribute('role', 'alert');
  }
  region.replaceChildren(form);
  if (keepFocus) {
    const target = button ? form.querySelector('button') : form;
    if (!button) form.tabIndex = -1; // a message alone can hold the focus it inherits
    target.focus();
  }
}

async function undo(form) {
  // Not `disabled`: a disabled button drops the keyboard focus, which the next notice keeps.
  if (form.dataset.busy) return;
  form.dataset.busy = '1';
  const focus = form.contains(document.activeElement);
  let res;
  try {
    res = await fetch(`/api/events/${form.dataset.undo}/undo`, { method: 'POST', headers: { accept: 'application/json' } });
  } catch {
    return show(0, 'Network error: nothing was undone.', null, focus);
  }
  if (!res.ok) return show(0, await errorMessage(res), null, focus);
  const body = await res.json();
  show(body.seq, UNDONE[body.action] ?? 'Change undone', 'Redo', focus);
}

/** The message of a JSON error (`{"error":{"code","message"}}`), or a plain one. */
async function errorMessage(res) {
  try {
    const body = await res.json();
    if (body?.error?.message) return `Cannot undo: ${body.error.message}`;
  } catch {
    // not JSON
  }
  return `Cannot undo (${res.status}).`;
}
