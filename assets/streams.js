// server (renderer → socket) → board.js → this module → DOM: applies <turbo-stream> fragments to the page.
//
// Only server-rendered fragments are ever inserted. The DOM is changed by morphing (idiomorph), so
// focus, caret and half-typed input survive a live update.

import { Idiomorph } from './vendor/idiomorph.esm.js';

/**
 * @typedef {object} Stream one `<turbo-stream>` of a frame
 * @property {string} action
 * @property {string} target DOM id
 * @property {string | null} parent id of the list an `upsert` goes into
 * @property {string | null} rank
 * @property {number | null} seq
 * @property {DocumentFragment | null} content the `<template>`'s content, if any
 */

/**
 * State the board keeps between frames.
 * @typedef {object} BoardState
 * @property {string} me the signed-in username, for `data-mine` on comments
 * @property {Map<string, DocumentFragment>} activity latest "is editing / is typing" content per card id
 * @property {number} lastSeq highest sequence number applied
 * @property {() => void} onRevoked
 */

const MORPH = {
  morphStyle: 'outerHTML',
  // Not idiomorph's `ignoreActiveValue`: it skips the *children* of whatever element has focus, so a
  // focused card (keyboard moves) or the card title the closed editor gives focus back to would never
  // show another user's change. Typed text is kept by `keepsUserValue` below instead.
  ignoreActiveValue: false,
  callbacks: {
    beforeAttributeUpdated: (name, el, how) => {
      // A menu someone has open stays open when another user's change re-renders its card.
      if (how === 'remove' && name === 'open' && el.localName === 'details') return false;
      // What the user typed, ticked or picked survives a live update (and a `reset` of the board).
      if ((name === 'value' || name === 'checked' || name === 'selected') && keepsUserValue(el)) return false;
      return true;
    },
  },
};
const MORPH_INNER = { ...MORPH, morphStyle: 'innerHTML' };

/**
 * Parts of `#board` a `reset` must not touch: the connection state belongs to this page (the server
 * renders it "offline"), and the presence bar is pushed by the hub on its own (the board renders it empty).
 */
const KEPT_ON_RESET = new Set(['live-status', 'presence']);
const MORPH_RESET = {
  ...MORPH,
  callbacks: {
    ...MORPH.callbacks,
    beforeNodeMorphed: (old) => !(old instanceof Element && KEPT_ON_RESET.has(old.id)),
  },
};

const ACTIVITY_ID = /^card-(\d+)-activity$/;

/** A form field the user is in, or has changed from what the server rendered. */
function keepsUserValue(el) {
  if (el instanceof HTMLInputElement) {
    if (el === document.activeElement) return true;
    return el.type === 'checkbox' || el.type === 'radio' ? el.checked !== el.defaultChecked : el.value !== el.defaultValue;
  }
  if (el instanceof HTMLTextAreaElement) return el === document.activeElement || el.value !== el.defaultValue;
  if (el instanceof HTMLOptionElement) return el.selected !== el.defaultSelected;
  return false;
}

/** Parse one text frame into its streams. */
export function parseFrame(html) {
  const tpl = document.createElement('template');
  tpl.innerHTML = html;
  return [...tpl.content.querySelectorAll('turbo-stream')].map((el) => {
    const seq = el.getAttribute('data-seq');
    return {
      action: el.getAttribute('action') ?? '',
      target: el.getAttribute('target') ?? '',
      parent: el.getAttribute('data-parent'),
      rank: el.getAttribute('data-rank'),
      seq: seq == null || seq === '' || !Number.isFinite(Number(seq)) ? null : Number(seq),
      content: el.querySelector(':scope > template')?.content ?? null,
    };
  });
}

/** Apply one stream to the document. */
export function applyStream(s, state) {
  const el = s.target ? document.getElementById(s.target) : null;
  if (s.content) decorate(s.content, state);
  switch (s.action) {
    case 'upsert':
      return upsert(s, el);
    case 'replace':
      if (el && s.content) Idiomorph.morph(el, s.content, MORPH);
      return;
    case 'update': {
      const m = ACTIVITY_ID.exec(s.target);
      if (m) return updateActivity(m[1], s.content, state);
      if (el) Idiomorph.morph(el, s.content ?? new DocumentFragment(), MORPH_INNER);
      return;
    }
    case 'remove':
      el?.remove();
      return;
    case 'reset': {
      const fresh = s.content?.firstElementChild;
      const board = document.getElementById('board');
      if (!board || !fresh) return;
      // Only #board is morphed: the editor dialog lives outside it and keeps what the user typed.
      Idiomorph.morph(board, fresh, MORPH_RESET);
      const seq = Number(board.dataset.seq);
      if (Number.isFinite(seq)) state.lastSeq = seq;
      return;
    }
    case 'banner': {
      const banner = el ?? document.getElementById('banner');
      if (!banner) return;
      // The template may hold the whole `div#banner` (templates::banner) or just its children.
      const whole = s.content?.firstElementChild;
      if (whole?.id === banner.id) Idiomorph.morph(banner, whole, MORPH);
      else Idiomorph.morph(banner, s.content ?? new DocumentFragment(), MORPH_INNER);
      return;
    }
    case 'revoked':
      state.onRevoked?.();
      return;
    default:
      console.warn('live: unknown stream action', s.action);
  }
}

/**
 * Insert or refresh one element of a ranked list (a card in a column, a column in the board).
 * Morphs in place when it is already in the right list, so focus and open menus survive.
 */
function upsert(s, old) {
  const fresh = s.content?.firstElementChild ?? null;
  const parent = s.parent ? document.getElementById(s.parent) : old?.parentElement;
  if (!parent) {
    // Its list is not on this page (a hidden column, another view): whatever we showed is stale.
    if (s.parent) old?.remove();
    return;
  }
  let el = old;
  if (!fresh) {
    if (!old) return; // nothing to reposition
    if (s.rank != null) old.dataset.rank = s.rank;
  } else if (old && old.parentElement === parent) {
    Idiomorph.morph(old, fresh, MORPH);
    el = document.getElementById(s.target) ?? old;
  } else {
    old?.remove();
    el = fresh;
  }
  place(parent, el);
}

/** Order of two ranked siblings: rank (plain string order), then numeric id. */
export function compareRank(a, b) {
  const ra = a.dataset.rank ?? '';
  const rb = b.dataset.rank ?? '';
  if (ra !== rb) return ra < rb ? -1 : 1;
  return Number(a.dataset.id) - Number(b.dataset.id);
}

/**
 * Put `el` into `parent` at its rank position. Children with `data-rank` are kept sorted; children
 * without it (such as the "add column" form) stay after them. An element without a rank is appended.
 * Moves nothing when `el` is already where it belongs.
 */
export function place(parent, el) {
  if (el.dataset.rank == null) {
    if (el.parentElement !== parent) parent.append(el);
    return;
  }
  let ref = null;
  let lastRanked = null;
  for (const sib of parent.children) {
    if (sib === el || sib.dataset.rank == null) continue;
    if (compareRank(sib, el) > 0) {
      ref = sib;
      break;
    }
    lastRanked = sib;
  }
  if (!ref) {
    // After the last ranked sibling, before the first unranked one that trails it.
    ref = lastRanked ? lastRanked.nextElementSibling : parent.firstElementChild;
    while (ref && (ref === el || ref.dataset.rank != null)) ref = ref.nextElementSibling;
  }
  if (el.parentElement === parent && el.nextElementSibling === ref) return;
  const hadFocus = el === document.activeElement;
  parent.insertBefore(el, ref);
  if (hadFocus) el.focus({ preventScroll: true });
}

/**
 * "Alice is editing" on a card: remember it (a later morph of the card empties the slot) and show it.
 * The fragment is the same for every viewer; the signed-in user's own activity is left out here,
 * since nobody needs telling that they themselves are typing.
 */
function updateActivity(cardId, content, state) {
  const others = content ? withoutMine(content, state.me) : null;
  if (others && others.childNodes.length) state.activity.set(cardId, others);
  else state.activity.delete(cardId);
  const slots = document.querySelectorAll(`#card-${cardId}-activity, [data-card-activity="${cardId}"]`);
  for (const slot of slots) fillActivity(slot, state.activity.get(cardId));
}

/** A copy of an activity fragment without the entries about `me`. */
function withoutMine(content, me) {
  const copy = /** @type {DocumentFragment} */ (content.cloneNode(true));
  if (!me) return copy;
  for (const el of copy.querySelectorAll('[data-editing], [data-typing-user]')) {
    if (el.getAttribute('data-editing') === me || el.getAttribute('data-typing-user') === me) el.remove();
  }
  return copy;
}

function fillActivity(slot, fragment) {
  Idiomorph.morph(slot, fragment ? fragment.cloneNode(true) : new DocumentFragment(), MORPH_INNER);
}

/**
 * Client-side touches the server cannot render, applied to the page and to every incoming fragment
 * (so morphing does not strip them): focusable cards, ids on activity slots, remembered activity,
 * and `data-mine` on the signed-in user's comments.
 * @param {ParentNode} root
 * @param {BoardState} state
 */
export function decorate(root, state) {
  for (const card of root.querySelectorAll('li.card')) {
    if (!card.hasAttribute('tabindex')) card.setAttribute('tabindex', '0');
    const slot = card.querySelector('.card-activity');
    if (slot && !slot.id) slot.id = `card-${card.dataset.id}-activity`;
  }
  for (const slot of root.querySelectorAll('.card-activity')) {
    const id = slot.dataset.cardActivity ?? ACTIVITY_ID.exec(slot.id)?.[1];
    const act = id && state.activity.get(id);
    if (act && !slot.hasChildNodes()) slot.append(act.cloneNode(true));
  }
  for (const c of root.querySelectorAll('li.comment')) {
    c.toggleAttribute('data-mine', !!state.me && c.dataset.author === state.me);
  }
}

/** Set each column's count to the number of cards it shows. */
export function refreshCounts(root = document) {
  for (const col of root.querySelectorAll('section.column')) {
    const count = col.querySelector('[data-count]');
    const n = col.querySelectorAll('ol.cards > li.card').length;
    if (count && count.textContent !== String(n)) count.textContent = String(n);
  }
}
