// Scenario 7: the server restarts under an open board; the page reconnects, catches up, keeps what Bob typed.
//
// This test runs a server of its own (a second port and database) so that stopping it disturbs no other test.

import { expect, request, test } from '@playwright/test';
import { LIVE, PASSWORD, card, columnCards, expectLive, expectSameDocument, markDocument, newBoard, newUser } from './support';
import { OwnServer } from './support/server';

let server: OwnServer;
test.beforeEach(async () => {
  server = await OwnServer.start();
});
test.afterEach(async () => {
  await server?.dispose();
});

test('bob\'s page reconnects after a restart, gets what alice did meanwhile, and keeps his typing', async ({ browser }) => {
  const alice = await newUser(browser, 'alice', server.url);
  const bob = await newUser(browser, 'bob', server.url);
  const board = await newBoard(alice, 'Restarts', [bob]);
  const { Todo, Doing } = board.columns;
  const b = bob.page;

  await b.goto(`/boards/${board.id}`);
  await expectLive(b);
  await markDocument(b);
  const draft = b.getByLabel('New card in Todo');
  await draft.fill('Half-typed idea');
  await expect(draft).toBeFocused();

  // Stop the server: the page says so and keeps trying.
  await server.stop();
  await expect(b.locator('#live-status')).toHaveAttribute('data-state', 'reconnecting');
  await expect(b.locator('body')).toHaveAttribute('data-live', 'reconnecting');
  // Keep Bob's browser away for a moment, so what Alice does next can only reach him by replay
  // from the event log (since=<last seq>), not as a live event.
  await bob.context.setOffline(true);

  // Restart on the same port and database; Alice logs in over HTTP and works through the JSON API.
  await server.restart();
  const api = await request.newContext({ baseURL: server.url });
  const login = await api.post('/login', { form: { username: alice.name, password: PASSWORD } });
  expect(new URL(login.url()).pathname).toBe('/');
  const created = await api.post(`/api/boards/${board.id}/cards`, {
    data: { title: 'Made during the outage', column_id: Doing },
  });
  expect(created.status()).toBe(201);
  const outage = (await created.json()).id;
  const renamed = await api.patch(`/api/boards/${board.id}`, { data: { name: 'Restarts, survived' } });
  expect(renamed.ok()).toBeTruthy();
  await expect(b.locator('#live-status')).toHaveAttribute('data-state', 'reconnecting');

  // Back online: reconnecting → live, with Alice's changes, without a reload.
  await bob.context.setOffline(false);
  await expectLive(b, 10_000);
  await expect(columnCards(b, Doing).locator(`#card-${outage}`)).toContainText('Made during the outage', LIVE);
  await expect(b.getByRole('heading', { level: 1 })).toHaveText('Restarts, survived', LIVE);
  await expectSameDocument(b);
  await expect(draft).toHaveValue('Half-typed idea');
  await expect(draft).toBeFocused();

  // Live again, not just replayed: a change now arrives at once.
  const after = await api.post(`/api/boards/${board.id}/cards`, { data: { title: 'After the restart', column_id: Todo } });
  expect(after.status()).toBe(201);
  await expect(card(b, (await after.json()).id)).toBeVisible(LIVE);
  await expect(draft).toHaveValue('Half-typed idea');

  // Bob finishes his sentence and adds his card.
  await draft.pressSequentially(', finished');
  await draft.press('Enter');
  await expect(columnCards(b, Todo).locator('li.card', { hasText: 'Half-typed idea, finished' })).toBeVisible();

  await api.dispose();
  await alice.context.close();
  await bob.context.close();
});
