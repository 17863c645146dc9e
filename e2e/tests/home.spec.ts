// The home page keeps its list of boards current through the JSON protocol's client (realtime-client.js).

import { expect, test } from '@playwright/test';
import { LIVE, newBoard, newUser } from './support';

test('a board shared with Bob appears in his list of boards without a reload', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  await bob.page.goto('/');
  await expect(bob.page.locator('body[data-live="live"]')).toBeVisible();
  await expect(bob.page.getByText('No boards yet.')).toBeVisible();

  const board = await newBoard(alice, 'Shared later');
  const res = await alice.context.request.post(`/api/boards/${board.id}/members`, { data: { username: bob.name } });
  expect(res.status()).toBe(201);

  await expect(bob.page.locator('ul.boards').getByRole('link', { name: 'Shared later' })).toBeVisible(LIVE);
  await expect(bob.page.getByText('No boards yet.')).toBeHidden();

  await alice.context.close();
  await bob.context.close();
});
