// server (event bus → /realtime/subscribe) → realtime-client.js → this module: the list of boards on `/`
// stays current (a board shared with you appears, a renamed one changes) and announcements show.
//
// It uses the JSON protocol's client, the same one scripts and apps can use.

import { RealtimeClient } from './realtime-client.js';

/** Keep `list` (the `ul.boards` of the home page) current. */
export function startHome(list) {
  let pending = null;
  // Several events in a burst (a new board writes columns and a member too) cause one refresh.
  const refresh = () => {
    clearTimeout(pending);
    pending = setTimeout(reloadList, 50);
  };
  const reloadList = async () => {
    const res = await fetch('/', { headers: { accept: 'text/html' } });
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    const fresh = doc.querySelector('ul.boards');
    // Server-rendered markup only, taken from our own page.
    if (fresh) list.replaceChildren(...fresh.children);
    document.body.dataset.boards = String(list.children.length);
  };

  const rt = new RealtimeClient('/realtime/subscribe', {
    onState: (state) => {
      document.body.dataset.live = state === 'open' ? 'live' : state;
    },
    onResync: refresh,
    onCustom: ({ data }) => showAnnouncement(data),
  });
  rt.subscribe('boards.*', refresh);
  rt.subscribe('members.*', refresh);
  rt.connect();
}

/** Shows `{"announcement": "..."}` custom events in the page's banner, as text. */
function showAnnouncement(data) {
  const banner = document.getElementById('banner');
  if (!banner || typeof data?.announcement !== 'string') return;
  banner.replaceChildren();
  if (data.announcement) {
    const p = document.createElement('p');
    p.className = 'announcement';
    p.setAttribute('role', 'status');
    p.textContent = data.announcement;
    banner.append(p);
  }
}
