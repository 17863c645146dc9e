// server (page HTML) → this entry module → board.js or home.js: loaded on every page, it starts the live
// board where there is one, and keeps the list of boards current on the home page.
//
// Pages work without JavaScript; this only enhances. Other pages load only the inbox badge's module.

// Carry this file's cache-busting `?v=` over to the modules it loads.
const version = new URL(import.meta.url).search;

const board = document.getElementById('board');
const boards = document.querySelector('ul.boards');
if (board) {
  import(`./board.js${version}`)
    .then(({ startBoard }) => startBoard(board))
    .catch((err) => console.error('live board failed to start', err));
} else if (boards) {
  import(`./home.js${version}`)
    .then(({ startHome }) => startHome(boards))
    .catch((err) => console.error('live board list failed to start', err));
}
// The board's own socket updates the badge there; elsewhere the inbox opens a small JSON socket.
const badge = document.getElementById('inbox-badge');
if (badge && !board) {
  import(`./inbox.js${version}`)
    .then(({ startInbox }) => startInbox(badge))
    .catch((err) => console.error('live inbox failed to start', err));
}

// Relative times ("3 minutes ago") on the board's activity panel, the activity page and card histories.
if (document.querySelector('ol.feed')) {
  import(`./activity.js${version}`)
    .then(({ startActivity }) => startActivity())
    .catch((err) => console.error('activity times failed to start', err));
}
