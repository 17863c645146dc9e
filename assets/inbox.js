// server (writer, after COMMIT → hub → /realtime/subscribe) → realtime-client.js → this module: the
// header's inbox badge follows the `notifications` channel on pages without a board socket.
//
// On `/notifications` the list is refreshed from the server too. Board pages get the same badge as
// an HTML fragment over their own socket. Without JavaScript the badge is the count at page load.

import { RealtimeClient } from './realtime-client.js';

/** Keep `badge` (the header's `a#inbox-badge`) current. */
export function startInbox(badge) {
  const show = (unread) => {
    if (!Number.isFinite(unread)) return;
    badge.dataset.unread = String(unread);
    const label = unread === 0 ? 'Notifications, none unread' : `Notifications, ${unread} unread`;
    badge.setAttribute('aria-label', label);
    badge.title = label;
    let count = badge.querySelector('.count');
    if (unread === 0) {
      count?.remove();
      return;
    }
    if (!count) {
      count = document.createElement('span');
      count.className = 'count';
      badge.append(' ', count);
    }
    // A number, set as text: nothing from the wire is parsed as HTML.
    count.textContent = String(unread);
  };
  // After a (re)connect, messages sent while away are gone: ask for the count once.
  const refresh = async () => {
    const res = await fetch('/api/notifications?limit=1', { headers: { accept: 'application/json' } });
    if (res.ok) show(Number((await res.json()).unread));
  };
  // On the inbox page itself, new and read notifications show in the list as well.
  const section = document.querySelector('section.inbox-page');
  let pending = 0;
  const reloadList = () => {
    clearTimeout(pending);
    pending = setTimeout(async () => {
      const res = await fetch(location.pathname + location.search, { headers: { accept: 'text/html' } });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      const fresh = doc.querySelector('section.inbox-page');
      // Server-rendered markup only, taken from our own page.
      if (fresh) section.replaceChildren(...fresh.children);
    }, 50);
  };
  const rt = new RealtimeClient('/realtime/subscribe', {
    onState: (state) => {
      badge.dataset.live = state;
      if (state === 'open') refresh().catch(() => {});
    },
    onCustom: (msg) => {
      if (msg.collection !== 'notifications') return;
      show(Number(msg.data?.unread));
      if (section) reloadList();
    },
  });
  rt.subscribe('notifications.*', () => {});
  rt.connect();
}
