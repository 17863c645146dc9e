// Scenario 8: without JavaScript every change is a plain form: add a card, then move it from its own page.

import { expect, test } from '@playwright/test';
import { LIVE, PASSWORD, baseURL, card, columnCards, newBoard, newUser, openBoard, uniqueName } from './support';

test('without javascript, a card is added with the column form and moved with "Move to"', async ({ browser }) => {
  // Alice has no JavaScript; Bob (with it) watches the board live.
  const name = uniqueName('alice');
  const context = await browser.newContext({ baseURL, javaScriptEnabled: false });
  const signup = await context.request.post('/signup', { form: { username: name, password: PASSWORD } });
  expect(signup.ok()).toBeTruthy();
  const alice = { name, context, page: await context.newPage() };
  const bob = await newUser(browser, 'bob');
  const board = await newBoard(alice, 'No script', [bob]);
  const { Todo, Done } = board.columns;
  await openBoard(bob.page, board.id);

  const a = alice.page;
  await a.goto(`/boards/${board.id}`);
  // Without the script nothing is live: the status stays as the server rendered it.
  await expect(a.locator('#live-status')).toHaveAttribute('data-state', 'offline');

  await a.getByLabel('New card in Todo').fill('Works on paper');
  await a.locator(`#column-${Todo}`).getByRole('button', { name: 'Add' }).click();
  await expect(a).toHaveURL(`${baseURL}/boards/${board.id}`);
  const added = columnCards(a, Todo).locator('li.card', { hasText: 'Works on paper' });
  await expect(added).toBeVisible();
  const id = Number(await added.getAttribute('data-id'));
  await expect(columnCards(bob.page, Todo).locator(`#card-${id}`)).toBeVisible(LIVE);

  // The title is a plain link to the card's page.
  await added.getByRole('link', { name: 'Works on paper' }).click();
  await expect(a).toHaveURL(`${baseURL}/cards/${id}`);
  await a.getByLabel('Move to').selectOption({ label: 'Done' });
  await a.getByRole('button', { name: 'Move', exact: true }).click();
  await expect(a).toHaveURL(`${baseURL}/boards/${board.id}`);
  await expect(columnCards(a, Done).locator(`#card-${id}`)).toBeVisible();
  await expect(columnCards(a, Todo).locator('li.card')).toHaveCount(0);
  await expect(columnCards(bob.page, Done).locator(`#card-${id}`)).toBeVisible(LIVE);
  await expect(card(bob.page, id)).toHaveCount(1);

  await context.close();
  await bob.context.close();
});
