// Scenario 3: filtered views know when a card leaves them and where it goes when it comes back.

import { expect, test } from '@playwright/test';
import {
  LIVE,
  card,
  cardIdsIn,
  columnCards,
  expectSameDocument,
  markDocument,
  newBoard,
  newCard,
  newUser,
  openBoard,
  patchCard,
} from './support';

test('with "hide done", a card moved to Done leaves bob\'s view and comes back in its place', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const board = await newBoard(alice, 'Filters: hide done', [bob]);
  const { Todo, Done } = board.columns;
  const api = alice.context.request;
  const first = await newCard(api, board.id, { title: 'First', column_id: Todo });
  const middle = await newCard(api, board.id, { title: 'Middle', column_id: Todo });
  const last = await newCard(api, board.id, { title: 'Last', column_id: Todo });
  const doneAlready = await newCard(api, board.id, { title: 'Shipped last week', column_id: Done });

  await openBoard(alice.page, board.id);
  await openBoard(bob.page, board.id, '?hide_done=1');
  await markDocument(bob.page);
  await expect(bob.page.getByLabel('Hide done')).toBeChecked();
  await expect(card(bob.page, doneAlready)).toHaveCount(0);
  expect(await cardIdsIn(bob.page, Todo)).toEqual([first, middle, last]);

  // Alice drags nothing here: she moves it with the keyboard twice, Todo → Doing → Done.
  await card(alice.page, middle).focus();
  await card(alice.page, middle).press('Alt+ArrowRight');
  await expect(columnCards(alice.page, board.columns.Doing).locator(`#card-${middle}`)).toBeVisible();
  await expect(columnCards(bob.page, board.columns.Doing).locator(`#card-${middle}`)).toBeVisible(LIVE);
  await card(alice.page, middle).press('Alt+ArrowRight');
  await expect(columnCards(alice.page, Done).locator(`#card-${middle}`)).toBeVisible();
  await expect(card(bob.page, middle)).toHaveCount(0, LIVE);

  // Back between First and Last (the JSON API places it exactly).
  await patchCard(api, middle, { column_id: Todo, after_id: first });
  await expect.poll(() => cardIdsIn(bob.page, Todo), LIVE).toEqual([first, middle, last]);
  await expect(card(bob.page, middle).locator('.card-title')).toHaveText('Middle');
  await expect.poll(() => cardIdsIn(alice.page, Todo), LIVE).toEqual([first, middle, last]);

  await expectSameDocument(bob.page);
  await alice.context.close();
  await bob.context.close();
});

test('with "assigned to me", a card reassigned away from bob and back leaves and returns', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const board = await newBoard(alice, 'Filters: assigned to me', [bob]);
  const { Todo, Doing } = board.columns;
  const api = alice.context.request;
  const one = await newCard(api, board.id, { title: 'Bob 1', column_id: Doing, assignee: bob.name });
  const two = await newCard(api, board.id, { title: 'Bob 2', column_id: Doing, assignee: bob.name });
  const three = await newCard(api, board.id, { title: 'Bob 3', column_id: Doing, assignee: bob.name });
  const hers = await newCard(api, board.id, { title: 'Alice only', column_id: Todo, assignee: alice.name });

  await openBoard(alice.page, board.id);
  await openBoard(bob.page, board.id, '?assignee=me');
  await markDocument(bob.page);
  await expect(card(bob.page, hers)).toHaveCount(0);
  expect(await cardIdsIn(bob.page, Doing)).toEqual([one, two, three]);

  // Alice reassigns the middle card to herself in the editor.
  await card(alice.page, two).getByRole('link', { name: 'Bob 2' }).click();
  const editor = alice.page.locator('dialog#editor');
  await editor.getByLabel('Assignee').selectOption(alice.name);
  await editor.getByRole('button', { name: 'Save' }).click();
  await expect(editor).toBeHidden();
  await expect(card(bob.page, two)).toHaveCount(0, LIVE);
  expect(await cardIdsIn(bob.page, Doing)).toEqual([one, three]);

  // …and back to Bob: it returns between the other two.
  await card(alice.page, two).getByRole('link', { name: 'Bob 2' }).click();
  await editor.getByLabel('Assignee').selectOption(bob.name);
  await editor.getByRole('button', { name: 'Save' }).click();
  await expect(editor).toBeHidden();
  await expect.poll(() => cardIdsIn(bob.page, Doing), LIVE).toEqual([one, two, three]);
  await expect(card(bob.page, two).locator(`.assignee [data-user="${bob.name}"]`)).toBeVisible();

  await expectSameDocument(bob.page);
  await alice.context.close();
  await bob.context.close();
});
