// Scenario 2: Alice builds a board through the UI; Bob, watching, sees every change live.

import { expect, test } from '@playwright/test';
import {
  LIVE,
  card,
  columnCards,
  columnIds,
  expectLive,
  expectSameDocument,
  markDocument,
  newUser,
  openBoard,
} from './support';

test('cards created, edited, moved and deleted by alice reach bob at once', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const a = alice.page;
  const b = bob.page;

  // Alice creates a board with the form on the home page and adds Bob with the members form.
  await a.goto('/');
  await a.getByPlaceholder('Board name').fill('Launch plan');
  await a.getByRole('button', { name: 'Create' }).click();
  await expect(a).toHaveURL(/\/boards\/\d+$/);
  const boardId = Number(new URL(a.url()).pathname.split('/').pop());
  await expect(a.getByRole('heading', { name: 'Launch plan', level: 1 })).toBeVisible();
  await a.getByLabel('Username to add').fill(bob.name);
  await a.getByRole('button', { name: 'Add member' }).click();
  await expect(a.locator(`#members [data-member="${bob.name}"]`)).toBeVisible();
  await expectLive(a);
  const col = await columnIds(alice.context.request, boardId);

  await openBoard(b, boardId);
  await markDocument(b);
  await expect(b.locator(`#presence [data-present="${alice.name}"]`)).toBeVisible();

  // Create: the add-card form of the Todo column.
  await a.getByLabel('New card in Todo').fill('Write the press release');
  await a.getByLabel('New card in Todo').press('Enter');
  const created = columnCards(a, col.Todo).locator('li.card', { hasText: 'Write the press release' });
  await expect(created).toBeVisible();
  const cardId = Number(await created.getAttribute('data-id'));
  await expect(columnCards(b, col.Todo).locator(`#card-${cardId}`)).toContainText('Write the press release', LIVE);
  await expectLive(a); // the form post reloaded Alice's page

  // Edit: the editor opens from the card's title.
  await card(a, cardId).getByRole('link', { name: 'Write the press release' }).click();
  const editor = a.locator('dialog#editor');
  await expect(editor).toBeVisible();
  await editor.getByLabel('Title').fill('Write and send the press release');
  await editor.getByLabel('Description').fill('Two paragraphs, one quote.');
  await editor.getByRole('button', { name: 'Save' }).click();
  await expect(editor).toBeHidden();
  await expect(card(b, cardId).locator('.card-title')).toHaveText('Write and send the press release', LIVE);
  await expect(card(b, cardId).locator('.card-desc')).toHaveText('Two paragraphs, one quote.', LIVE);

  // Move by drag and drop: Todo → Doing (grabbed by its body, not its title link).
  await card(a, cardId).locator('.card-desc').dragTo(columnCards(a, col.Doing));
  await expect(columnCards(a, col.Doing).locator(`#card-${cardId}`)).toBeVisible();
  await expect(columnCards(b, col.Doing).locator(`#card-${cardId}`)).toBeVisible(LIVE);
  await expect(columnCards(b, col.Todo).locator('li.card')).toHaveCount(0, LIVE);
  await expect(b.locator(`#column-${col.Doing}-head [data-count]`)).toHaveText('1', LIVE);

  // Move with the keyboard: Alt+ArrowRight, Doing → Done.
  await card(a, cardId).focus();
  await card(a, cardId).press('Alt+ArrowRight');
  await expect(columnCards(a, col.Done).locator(`#card-${cardId}`)).toBeFocused();
  await expect(columnCards(b, col.Done).locator(`#card-${cardId}`)).toBeVisible(LIVE);
  await expect(columnCards(b, col.Doing).locator('li.card')).toHaveCount(0, LIVE);

  // Delete: the editor's "Delete card" button.
  await card(a, cardId).getByRole('link').click();
  await expect(editor).toBeVisible();
  await editor.getByRole('button', { name: 'Delete card' }).click();
  await expect(card(a, cardId)).toHaveCount(0);
  await expect(card(b, cardId)).toHaveCount(0, LIVE);
  await expect(b.locator(`#column-${col.Done}-head [data-count]`)).toHaveText('0', LIVE);

  // Bob saw all of it on the page he opened first.
  await expectSameDocument(b);
  await expectLive(b);
  await alice.context.close();
  await bob.context.close();
});
