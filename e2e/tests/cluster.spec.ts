// Scale-out: Alice's page is served by one edge, Bob's by another; a writer and Redis join them.
// What Alice does reaches Bob at once, and each sees the other in the presence bar.
//
// This test runs a cluster of its own (redis-server, a writer, two edges; see support/cluster.ts).

import { expect, test } from '@playwright/test';
import { LIVE, columnCards, expectLive, markDocument, expectSameDocument, newBoard, newUser, openBoard } from './support';
import { Cluster } from './support/cluster';

let cluster: Cluster;
test.beforeEach(async () => {
  cluster = await Cluster.start();
});
test.afterEach(async () => {
  await cluster?.dispose();
});

test('alice on edge A and bob on edge B see each other and each other\'s cards at once', async ({ browser }) => {
  const alice = await newUser(browser, 'alice', cluster.a);
  const bob = await newUser(browser, 'bob', cluster.b);
  const board = await newBoard(alice, 'Two edges', [bob]);
  const { Todo } = board.columns;
  const a = alice.page;
  const b = bob.page;

  await openBoard(b, board.id);
  await markDocument(b);
  await openBoard(a, board.id);
  await expect(b.locator(`#presence [data-present="${alice.name}"]`)).toBeVisible(LIVE);
  await expect(a.locator(`#presence [data-present="${bob.name}"]`)).toBeVisible(LIVE);

  // Alice adds a card with the form (posted to edge A, forwarded to the writer): Bob's page on edge B shows it.
  await a.getByLabel('New card in Todo').fill('Served by two edges');
  await a.getByLabel('New card in Todo').press('Enter');
  await expect(columnCards(b, Todo).locator('li.card', { hasText: 'Served by two edges' })).toBeVisible(LIVE);
  await expectSameDocument(b);

  // And back: Bob's card reaches Alice's page on edge A.
  await expectLive(b);
  await b.getByLabel('New card in Todo').fill('And back again');
  await b.getByLabel('New card in Todo').press('Enter');
  await expectLive(a);
  await expect(columnCards(a, Todo).locator('li.card', { hasText: 'And back again' })).toBeVisible(LIVE);

  // Bob leaves: after the grace period Alice no longer sees him.
  await bob.context.close();
  await expect(a.locator(`#presence [data-present="${bob.name}"]`)).toHaveCount(0, { timeout: 6_000 });
  await alice.context.close();
});
