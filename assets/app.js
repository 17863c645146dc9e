// server (page HTML) → this entry module → board.js: loaded on every page, it starts the live board where there is one.
//
// Pages work without JavaScript; this only enhances. Other pages load nothing more.

const board = document.getElementById('board');
if (board) {
  // Carry this file's cache-busting `?v=` over to the board module.
  const version = new URL(import.meta.url).search;
  import(`./board.js${version}`)
    .then(({ startBoard }) => startBoard(board))
    .catch((err) => console.error('live board failed to start', err));
}
