// Undo: after Alice moves, edits or deletes a card, a notice with an Undo button shows; pressing it
// (by pointer, by Tab + Enter, by Ctrl+Z, or as a plain form without JavaScript) puts the card back
// for her and, live, for Bob.

import { expect, test } from '@playwright/test';
import {
  LIVE,
  PASSWORD,
  baseURL,
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
  uniqueName,
} from './support';

test('alice drags a card to Done, presses Undo in the notice, and it goes back for her and for bob', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const board = await newBoard(alice, 'Undo board', [bob]);
  const { Todo, Done } = board.columns;
  const api = alice.context.request;
  const first = await newCard(api, board.id, { title: 'Press release', description: 'Two paragraphs', column_id: Todo });
  const second = await newCard(api, board.id, { title: 'Landing page', column_id: Todo });
  const a = alice.page;
  const b = bob.page;
  await openBoard(a, board.id);
  await openBoard(b, board.id);
  await markDocument(a);

  // Grabbed by its body, not its title link.
  await card(a, first).locator('.card-desc').dragTo(columnCards(a, Done));
  await expect(columnCards(b, Done).locator(`#card-${first}`)).toBeVisible(LIVE);
  const notice = a.locator('#undo-notice .undo-notice');
  await expect(notice).toContainText('Moved to Done');

  await notice.getByRole('button', { name: 'Undo' }).click();
  await expect(notice).toContainText('Change undone');
  await expect(notice.getByRole('button', { name: 'Redo' })).toBeVisible();
  await expect.poll(() => cardIdsIn(a, Todo), LIVE).toEqual([first, second]);
  await expect.poll(() => cardIdsIn(b, Todo), LIVE).toEqual([first, second]);
  await expect(columnCards(b, Done).locator('li.card')).toHaveCount(0);
  await expectSameDocument(a);

  // The notice goes by itself about ten seconds later, once neither pointer nor keyboard is on it.
  await a.locator('#board h1').click();
  await expect(notice).toHaveCount(0, { timeout: 12_000 });
  await alice.context.close();
  await bob.context.close();
});

test('with the keyboard: a move with Alt+Arrow, then Tab to the notice and Enter undoes it', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const board = await newBoard(alice, 'Keyboard undo', [bob]);
  const { Todo, Doing } = board.columns;
  const id = await newCard(alice.context.request, board.id, { title: 'Press release', column_id: Todo });
  const a = alice.page;
  await openBoard(a, board.id);
  await openBoard(bob.page, board.id);

  await card(a, id).focus();
  await card(a, id).press('Alt+ArrowRight');
  await expect(columnCards(bob.page, Doing).locator(`#card-${id}`)).toBeVisible(LIVE);
  const notice = a.locator('#undo-notice .undo-notice');
  await expect(notice).toContainText('Moved to Doing');

  // The notice is the first thing in the page after the top bar: one Tab from "Log out".
  await a.getByRole('button', { name: 'Log out' }).focus();
  await a.keyboard.press('Tab');
  await expect(notice.getByRole('button', { name: 'Undo' })).toBeFocused();
  await a.keyboard.press('Enter');
  await expect(columnCards(a, Todo).locator(`#card-${id}`)).toBeVisible(LIVE);
  await expect(columnCards(bob.page, Todo).locator(`#card-${id}`)).toBeVisible(LIVE);
  // Focus stays in the notice, on its Redo.
  await expect(notice.getByRole('button', { name: 'Redo' })).toBeFocused();
  await alice.context.close();
  await bob.context.close();
});

test('a deleted card comes back with Ctrl+Z, and an undo after bob changed the card says so', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const board = await newBoard(alice, 'Delete undo', [bob]);
  const { Todo, Doing } = board.columns;
  const api = alice.context.request;
  const id = await newCard(api, board.id, { title: 'Press release', column_id: Todo });
  expect((await api.post(`/api/cards/${id}/comments`, { data: { body: 'keep me' } })).status()).toBe(201);
  const a = alice.page;
  await openBoard(a, board.id);
  await openBoard(bob.page, board.id);

  // Delete from the editor: a plain form post; the page comes back with the notice.
  await card(a, id).getByRole('link', { name: 'Press release' }).click();
  await a.locator('dialog#editor').getByRole('button', { name: 'Delete card' }).click();
  await expect(card(bob.page, id)).toHaveCount(0, LIVE);
  const notice = a.locator('#undo-notice .undo-notice');
  await expect(notice).toContainText('Card deleted');
  await expect(a.locator('#live-status')).toHaveAttribute('data-state', 'live');

  await a.locator('body').press('Control+z');
  await expect(notice).toContainText('Card restored');
  await expect(columnCards(bob.page, Todo).locator(`#card-${id}`)).toContainText('Press release', LIVE);
  await expect(columnCards(a, Todo).locator(`#card-${id}`)).toBeVisible(LIVE);
  await card(bob.page, id).getByRole('link', { name: 'Press release' }).click();
  await expect(bob.page.locator('dialog#editor .comment')).toContainText('keep me');

  // Alice moves it, Bob renames it: her Undo is refused, with his name.
  await card(a, id).focus();
  await card(a, id).press('Alt+ArrowRight');
  await expect(notice).toContainText('Moved to Doing');
  await expect(columnCards(bob.page, Doing).locator(`#card-${id}`)).toBeVisible(LIVE);
  await patchCard(bob.context.request, id, { title: 'Bob renamed it' });
  await expect(card(a, id).locator('.card-title')).toHaveText('Bob renamed it', LIVE);
  await notice.getByRole('button', { name: 'Undo' }).click();
  await expect(a.locator('#undo-notice')).toContainText(`Cannot undo: ${bob.name} changed this card since`);
  await expect(columnCards(a, Doing).locator(`#card-${id}`)).toBeVisible();
  await alice.context.close();
  await bob.context.close();
});

test('an edit saved in the editor is undone from its notice: the old title is back for bob', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const board = await newBoard(alice, 'Edit undo', [bob]);
  const id = await newCard(alice.context.request, board.id, { title: 'Press release', column_id: board.columns.Todo });
  const a = alice.page;
  await openBoard(a, board.id);
  await openBoard(bob.page, board.id);

  await card(a, id).getByRole('link', { name: 'Press release' }).click();
  const editor = a.locator('dialog#editor');
  await editor.getByLabel('Title').fill('Press release, final');
  await editor.getByRole('button', { name: 'Save' }).click();
  await expect(editor).toBeHidden();
  await expect(card(bob.page, id).locator('.card-title')).toHaveText('Press release, final', LIVE);
  const notice = a.locator('#undo-notice .undo-notice');
  await expect(notice).toContainText('Card saved');

  await notice.getByRole('button', { name: 'Undo' }).click();
  await expect(card(bob.page, id).locator('.card-title')).toHaveText('Press release', LIVE);
  await expect(card(a, id).locator('.card-title')).toHaveText('Press release', LIVE);
  await alice.context.close();
  await bob.context.close();
});

test('without javascript, "Move to" leaves a notice whose Undo form puts the card back', async ({ browser }) => {
  const name = uniqueName('alice');
  const context = await browser.newContext({ baseURL, javaScriptEnabled: false });
  expect((await context.request.post('/signup', { form: { username: name, password: PASSWORD } })).ok()).toBeTruthy();
  const alice = { name, context, page: await context.newPage() };
  const bob = await newUser(browser, 'bob');
  const board = await newBoard(alice, 'No script undo', [bob]);
  const { Todo, Done } = board.columns;
  const id = await newCard(context.request, board.id, { title: 'Works on paper', column_id: Todo });
  await openBoard(bob.page, board.id);

  const a = alice.page;
  await a.goto(`/cards/${id}`);
  await a.getByLabel('Move to').selectOption({ label: 'Done' });
  await a.getByRole('button', { name: 'Move', exact: true }).click();
  await expect(a).toHaveURL(`${baseURL}/boards/${board.id}`);
  await expect(columnCards(bob.page, Done).locator(`#card-${id}`)).toBeVisible(LIVE);
  const notice = a.locator('#undo-notice .undo-notice');
  await expect(notice).toContainText('Moved to Done');

  await notice.getByRole('button', { name: 'Undo' }).click();
  await expect(a).toHaveURL(`${baseURL}/boards/${board.id}`);
  await expect(columnCards(a, Todo).locator(`#card-${id}`)).toBeVisible();
  await expect(a.locator('#undo-notice')).toContainText('Change undone');
  await expect(columnCards(bob.page, Todo).locator(`#card-${id}`)).toBeVisible(LIVE);
  await context.close();
  await bob.context.close();
});
