// server (writer, after COMMIT → hub → /realtime/subscribe) → realtime-client.js → this module: the
// header's inbox badge follows the `notifications` channel on pages without a board socket.
//
// Board pages get the same badge as an HTML fragment over their own socket. Without JavaScript the
// badge is the count at page load.

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
  const rt = new RealtimeClient('/realtime/subscribe', {
    onState: (state) => {
      badge.dataset.live = state;
      if (state === 'open') refresh().catch(() => {});
    },
    onCustom: (msg) => {
      if (msg.collection === 'notifications') show(Number(msg.data?.unread));
    },
  });
  rt.subscribe('notifications.*', () => {});
  rt.connect();
}
