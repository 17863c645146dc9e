// server (renderer → /boards/{id}/live) → socket → this client → DOM: the live board, drag and drop, the card editor.
//
// Everything here only enhances: without JavaScript the same forms post and the page reloads.

import Sortable from './vendor/sortable.esm.js';
import { ReconnectingSocket } from './live-socket.js';
import { applyStream, decorate, parseFrame, refreshCounts } from './streams.js';
import { offerUndo, startUndo } from './undo.js';

/** Close codes after which reconnecting cannot help: signed out, access revoked, board gone. */
const FINAL = new Set([4401, 4403, 4404]);
/** "Server restarting": come back soon, but not all clients at the same instant. */
const RESTARTING = 1012;

const TYPING_EVERY = 1500;
const EDITING_EVERY = 10_000;

/** Start the live board on `#board`. */
export function startBoard(board) {
  const status = document.getElementById('live-status');
  const dialog = /** @type {HTMLDialogElement | null} */ (document.getElementById('editor'));

  /** @type {import('./streams.js').BoardState} */
  const state = {
    me: board.dataset.me ?? '',
    activity: new Map(),
    lastSeq: Number(board.dataset.seq) || 0,
    onRevoked: () => {
      revoked = true;
      showStatus('offline', 'You no longer have access to this board');
    },
  };
  let revoked = false;
  let retrying = false; // "connecting" until the first failure, "reconnecting" after
  let dragging = false;
  /** Frames that arrive mid-drag wait, so Sortable's DOM is not morphed under the pointer. */
  const pending = [];

  // ---- connection ---------------------------------------------------------------------------

  const socket = new ReconnectingSocket(socketUrl, {
    baseDelay: 500,
    maxDelay: 10_000,
    onOpen: () => {
      if (editing) socket.send({ type: 'editing', card_id: editing.id });
    },
    onMessage: (text) => (dragging ? pending.push(text) : receive(text)),
    onClose: (ev) => {
      if (revoked || FINAL.has(ev.code)) return 'stop';
      if (ev.code === RESTARTING) return 'soon';
    },
    onState: (s) => {
      if (s === 'open') showStatus('live');
      else if (s === 'stopped') showStatus('offline', revoked ? 'You no longer have access to this board' : 'offline');
      else {
        if (s === 'waiting') retrying = true;
        showStatus(retrying ? 'reconnecting' : 'connecting');
      }
    },
  });

  function socketUrl() {
    const d = board.dataset; // re-read: a `reset` may bring a new epoch or query
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    let url = `${proto}://${location.host}/boards/${d.board}/live?since=${state.lastSeq}&epoch=${encodeURIComponent(d.epoch ?? '')}`;
    if (d.query) url += `&${d.query}`;
    return url;
  }

  function showStatus(s, text = s) {
    document.body.dataset.live = s;
    const el = document.getElementById('live-status');
    if (!el) return;
    el.dataset.state = s;
    el.textContent = text;
  }

  /** Apply one text frame: one or more `<turbo-stream>` elements (or a JSON control message). */
  function receive(text) {
    if (text.startsWith('{')) return control(text);
    const focusedId = document.activeElement?.id;
    for (const s of parseFrame(text)) {
      try {
        applyStream(s, state);
      } catch (err) {
        console.error('live: could not apply', s.action, s.target, err);
      }
      if (s.seq != null) state.lastSeq = Math.max(state.lastSeq, s.seq);
    }
    afterFrame();
    // A card that was moved out and back in keeps its id: keep the keyboard on it.
    if (focusedId && document.activeElement === document.body) document.getElementById(focusedId)?.focus({ preventScroll: true });
  }

  function control(text) {
    try {
      const msg = JSON.parse(text);
      if (msg.type === 'error') console.warn(`live error ${msg.code}: ${msg.message}`);
      if (Number.isFinite(msg.seq)) state.lastSeq = Math.max(state.lastSeq, msg.seq);
    } catch {
      console.warn('live: unreadable frame');
    }
  }

  function afterFrame() {
    decorate(document, state);
    refreshCounts();
    for (const list of document.querySelectorAll('ol.cards')) makeSortable(list);
  }

  // ---- drag and drop ------------------------------------------------------------------------

  function makeSortable(list) {
    if (Sortable.get(list)) return;
    let undo = null;
    Sortable.create(list, {
      group: 'cards',
      animation: 150,
      draggable: 'li.card',
      filter: 'details, a, button, input, select, textarea',
      preventOnFilter: false,
      delay: 150,
      delayOnTouchOnly: true, // let fingers scroll the board
      onStart: (ev) => {
        dragging = true;
        undo = spot(ev.item);
      },
      onEnd: (ev) => {
        dragging = false;
        if (ev.from !== ev.to || ev.oldIndex !== ev.newIndex) {
          refreshCounts();
          sendMove(ev.item, undo);
        }
        pending.splice(0).forEach(receive);
      },
    });
  }

  /** Where a card is now, to put it back if the server refuses the move. */
  function spot(card) {
    return { list: card.parentElement, next: card.nextElementSibling };
  }

  function putBack(card, { list, next }) {
    list.insertBefore(card, next && next.parentElement === list ? next : null);
  }

  /** Tell the server where the card now is, by its neighbours; undo and explain on refusal. */
  async function sendMove(card, undo) {
    const list = card.parentElement;
    const prev = card.previousElementSibling?.closest('li.card');
    const next = card.nextElementSibling?.closest('li.card');
    const where = prev ? { after_id: Number(prev.dataset.id) } : next ? { before_id: Number(next.dataset.id) } : { place: 'first' };
    let message;
    try {
      const res = await fetch(`/api/cards/${card.dataset.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ column_id: Number(list.dataset.column), ...where }),
      });
      if (res.ok) {
        // The live upsert that follows confirms the position.
        const column = list.closest('section.column')?.querySelector('.column-name')?.textContent ?? 'another column';
        return offerUndo(res, `Moved to ${column}`);
      }
      message = await errorMessage(res);
    } catch {
      message = 'Network error: the card was not moved.';
    }
    const hadFocus = card === document.activeElement;
    putBack(card, undo);
    if (hadFocus) card.focus();
    refreshCounts();
    toast(message);
  }

  // ---- keyboard -----------------------------------------------------------------------------

  document.addEventListener('keydown', (e) => {
    const card = e.target;
    if (!e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || !(card instanceof HTMLElement) || !card.matches('li.card')) return;
    if (!['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight'].includes(e.key)) return;
    e.preventDefault(); // even at an edge: Alt+Left would otherwise be the browser's "Back"
    const list = card.parentElement;
    const undo = spot(card);
    if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      const sib = e.key === 'ArrowUp' ? card.previousElementSibling : card.nextElementSibling;
      if (!sib) return;
      list.insertBefore(card, e.key === 'ArrowUp' ? sib : sib.nextElementSibling);
    } else {
      const col = card.closest('section.column');
      const other = e.key === 'ArrowLeft' ? col?.previousElementSibling : col?.nextElementSibling;
      const target = other?.matches('section.column') ? other.querySelector('ol.cards') : null;
      if (!target) return;
      target.append(card);
    }
    card.focus();
    card.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    refreshCounts();
    sendMove(card, undo);
  });

  // ---- the card editor ----------------------------------------------------------------------

  /** @type {{id: number, timer: number} | null} */
  let editing = null;
  let lastTyping = 0;

  function startEditing(id) {
    stopEditing();
    editing = { id, timer: setInterval(() => socket.send({ type: 'editing', card_id: id }), EDITING_EVERY) };
    socket.send({ type: 'editing', card_id: id });
  }

  function stopEditing() {
    if (!editing) return;
    clearInterval(editing.timer);
    socket.send({ type: 'editing_stop', card_id: editing.id });
    editing = null;
    lastTyping = 0;
  }

  /** Put a server-rendered editor (or its refusal, which keeps the user's text) into the dialog. */
  function showEditor(html) {
    dialog.innerHTML = html;
    decorate(dialog, state);
  }

  async function openEditor(link) {
    const id = Number(link.dataset.edit);
    let res;
    try {
      res = await fetch(`/cards/${id}/edit`, { headers: { 'X-Partial': '1' } });
    } catch {
      res = null;
    }
    if (!res?.ok) return location.assign(link.href); // let the full page explain
    const html = await res.text();
    stopEditing(); // before close(): its 'close' event fires later, when the dialog is open again
    if (dialog.open) dialog.close();
    showEditor(html);
    dialog.showModal();
    startEditing(id);
  }

  if (dialog) {
    document.addEventListener('click', (e) => {
      const el = e.target instanceof Element ? e.target : null;
      const edit = el?.closest('a[data-edit]');
      if (edit && e.button === 0 && !(e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)) {
        e.preventDefault();
        openEditor(edit);
      } else if (el?.closest('[data-close]') && dialog.contains(el)) {
        e.preventDefault();
        dialog.close();
      }
    });

    // Any way of closing (button, Escape, save) ends "is editing".
    dialog.addEventListener('close', () => {
      if (dialog.open) return;
      stopEditing();
      dialog.replaceChildren();
    });

    dialog.addEventListener('input', (e) => {
      if (!editing || !(e.target instanceof Element) || !e.target.closest('[data-typing]')) return;
      const now = Date.now();
      if (now - lastTyping < TYPING_EVERY) return;
      lastTyping = now;
      socket.send({ type: 'typing', card_id: editing.id });
    });

    dialog.addEventListener('submit', (e) => {
      const form = e.target;
      if (!(form instanceof HTMLFormElement)) return;
      const kind = form.matches('[data-editor-form]')
        ? 'editor'
        : form.matches('[data-comment-form]')
          ? 'comment'
          : form.closest('li.comment')
            ? 'delete-comment'
            : form.matches('[data-checklist-form]')
              ? 'checklist'
              : null;
      if (!kind) return;
      e.preventDefault();
      if (editing) socket.send({ type: 'typing_stop', card_id: editing.id });
      lastTyping = 0;
      submitInEditor(form, kind, e.submitter);
    });
  }

  /** `submitter` is the button pressed: its name and value are part of the form ("up" or "down"). */
  async function submitInEditor(form, kind, submitter) {
    let res;
    try {
      res = await fetch(form.action, {
        method: 'POST',
        headers: { 'X-Partial': '1', 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(new FormData(form, submitter instanceof HTMLButtonElement ? submitter : null)),
      });
    } catch {
      return toast('Network error: nothing was saved.');
    }
    // A refusal of a form the editor renders comes back as the editor, with the user's text kept;
    // a checklist tick, move or delete has nothing typed to keep, and its refusal is a plain error page.
    const refused = res.status === 400 || res.status === 409 || res.status === 422;
    if (refused && (kind !== 'checklist' || form.matches('[data-checklist-add]'))) return showEditor(await res.text());
    if (!res.ok) return toast(await errorMessage(res));
    if (kind === 'editor') {
      dialog.close();
      offerUndo(res, 'Card saved');
    }
    else if (kind === 'checklist') {
      // Ticks, moves and deletes show up through the live upsert or remove that follows.
      const input = form.matches('[data-checklist-add]') ? form.querySelector('input[name="text"]') : null;
      if (input) {
        input.value = ''; // not reset(): after a refusal the input's default is the refused text
        input.focus();
      }
    } else if (kind === 'comment') {
      form.reset();
      form.querySelector('input[name="body"]')?.focus();
    } else form.closest('li.comment')?.remove(); // the live `remove` would do it too
  }

  // ---- page lifecycle -----------------------------------------------------------------------

  addEventListener('pagehide', () => {
    stopEditing();
    socket.stop(1000);
  });
  addEventListener('pageshow', (e) => {
    if (e.persisted && !revoked) socket.start(); // back from the back/forward cache
  });

  afterFrame();
  startUndo();
  socket.start();
}

/** The message of a JSON error (`{"error":{"code","message"}}`), or a plain one. */
async function errorMessage(res) {
  try {
    const body = await res.json();
    if (body?.error?.message) return String(body.error.message);
  } catch {
    // not JSON
  }
  return `Request failed (${res.status}).`;
}

/** A short message in the corner; text only. */
function toast(message) {
  const el = document.createElement('div');
  el.className = 'toast';
  el.setAttribute('role', 'alert');
  el.textContent = message;
  document.body.append(el);
  setTimeout(() => el.remove(), 5000);
}
