// server (entries with <time datetime data-relative>) → this module → the words beside them: keeps
// "3 minutes ago" true on a page left open. The server renders the same words; without JavaScript
// they stay as they were when the page was rendered. Also copies each live entry of the board's
// feed into the history of its card when that card's editor is open (the server sends it once).

const EVERY = 30_000;

/** The words the server uses (src/activity.rs `ago`), for `at` seen from `now`. */
export function ago(at, now) {
  const secs = Math.max(0, Math.floor((now - at) / 1000));
  if (secs < 45) return 'just now';
  if (secs < 90) return 'a minute ago';
  if (secs < 2700) return `${Math.floor((secs + 30) / 60)} minutes ago`;
  if (secs < 5400) return 'an hour ago';
  if (secs < 79200) return `${Math.floor((secs + 1800) / 3600)} hours ago`;
  if (secs < 129600) return 'yesterday';
  if (secs < 2592000) return `${Math.floor((secs + 43200) / 86400)} days ago`;
  return `on ${new Date(at).toISOString().slice(0, 10)}`;
}

/** Copies `entry` (an `li.entry` of the board's feed) into its card's history, if that is open. */
export function copyToHistory(entry) {
  const card = entry.dataset.card;
  const history = card && document.getElementById(`card-${card}-history`);
  if (!history) return;
  const id = `history-${entry.dataset.seq}`;
  if (document.getElementById(id)) return;
  const copy = entry.cloneNode(true);
  copy.id = id;
  // Newest first: before the first entry that ranks after it.
  const next = [...history.children].find((li) => (li.dataset.rank ?? '') > (copy.dataset.rank ?? ''));
  history.insertBefore(copy, next ?? null);
}

/** Watches the board's feed for live entries and copies each into its card's open history. */
function followFeed() {
  const feed = document.getElementById('activity');
  if (!feed) return;
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) {
        if (node instanceof HTMLElement && node.matches('li.entry[data-card]')) copyToHistory(node);
      }
    }
  }).observe(feed, { childList: true });
}

/** Refresh every relative time on the page (live entries included), now and every half minute. */
export function startActivity() {
  followFeed();
  const tick = () => {
    const now = Date.now();
    for (const el of document.querySelectorAll('time[data-relative][datetime]')) {
      const at = Date.parse(el.getAttribute('datetime') ?? '');
      if (!Number.isFinite(at)) continue;
      const words = ago(at, now);
      if (el.textContent !== words) el.textContent = words;
    }
  };
  tick();
  setInterval(tick, EVERY);
}
