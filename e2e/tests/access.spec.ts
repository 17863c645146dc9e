// Scenario 9: only members see a board or its live stream; a member removed while watching is told at once.

import { expect, test, type Page } from '@playwright/test';
import { LIVE, card, expectSameDocument, markDocument, newBoard, newCard, newUser, openBoard } from './support';

/** Tries to open the board's live socket from the page: 'open', or how it failed. */
function tryLiveSocket(page: Page, board: number): Promise<string> {
  return page.evaluate(
    (id) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(`ws://${location.host}/boards/${id}/live`);
        ws.onopen = () => {
          ws.close();
          resolve('open');
        };
        ws.onclose = (ev) => resolve(`closed ${ev.code}`);
      }),
    board,
  );
}

test('a user who is not a member gets 404 for the board and its live socket, as if it did not exist', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const mallory = await newUser(browser, 'mallory');
  const board = await newBoard(alice, 'Members only');
  const secret = await newCard(alice.context.request, board.id, { title: 'Secret plan', column_id: board.columns.Todo });

  const res = await mallory.page.goto(`/boards/${board.id}`);
  expect(res?.status()).toBe(404);
  await expect(mallory.page.getByRole('heading', { name: 'Error 404' })).toBeVisible();
  await expect(mallory.page.getByText('Secret plan')).toHaveCount(0);
  expect((await mallory.page.goto(`/cards/${secret}`))?.status()).toBe(404);
  expect((await mallory.context.request.get(`/api/boards/${board.id}`)).status()).toBe(404);

  // The socket handshake is refused (no upgrade), from a page of the same origin.
  await mallory.page.goto('/');
  expect(await tryLiveSocket(mallory.page, board.id)).toBe('closed 1006');
  // The control: the owner's handshake from the same kind of page succeeds.
  await alice.page.goto('/');
  expect(await tryLiveSocket(alice.page, board.id)).toBe('open');

  await alice.context.close();
  await mallory.context.close();
});

test('bob, removed from the board while watching it, is told he has no access, without a reload', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const board = await newBoard(alice, 'Revocation', [bob]);
  const id = await newCard(alice.context.request, board.id, { title: 'Before', column_id: board.columns.Todo });
  await openBoard(alice.page, board.id);
  await openBoard(bob.page, board.id);
  await markDocument(bob.page);
  await expect(card(bob.page, id)).toBeVisible();

  await alice.page.getByRole('button', { name: `Remove ${bob.name}` }).click();
  await expect(alice.page.locator(`#members [data-member="${bob.name}"]`)).toHaveCount(0);

  const status = bob.page.locator('#live-status');
  await expect(status).toHaveAttribute('data-state', 'offline', LIVE);
  await expect(status).toHaveText('You no longer have access to this board', LIVE);
  await expect(bob.page.locator('body')).toHaveAttribute('data-live', 'offline');
  await expectSameDocument(bob.page);

  // Nothing more reaches him, and he cannot come back in.
  await newCard(alice.context.request, board.id, { title: 'After', column_id: board.columns.Todo });
  await expect(alice.page.getByText('After', { exact: true })).toBeVisible(LIVE); // the server's echo, to Alice
  await expect(bob.page.getByText('After', { exact: true })).toHaveCount(0);
  expect(await tryLiveSocket(bob.page, board.id)).toBe('closed 1006');
  expect((await bob.page.reload())?.status()).toBe(404);

  await alice.context.close();
  await bob.context.close();
});
