// Scenario 6: two editors on one card; the second save is refused with the other's change, keeping its text.

import { expect, test } from '@playwright/test';
import { LIVE, card, newBoard, newCard, newUser, openBoard, patchCard } from './support';

test('alice saving after bob sees what bob changed and keeps what she typed', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const board = await newBoard(alice, 'Conflicts', [bob]);
  const id = await newCard(alice.context.request, board.id, { title: 'Draft agenda', column_id: board.columns.Todo });
  await openBoard(alice.page, board.id);
  await openBoard(bob.page, board.id);

  const aliceEditor = alice.page.locator('dialog#editor');
  const bobEditor = bob.page.locator('dialog#editor');
  await card(alice.page, id).getByRole('link', { name: 'Draft agenda' }).click();
  await expect(aliceEditor.getByLabel('Title')).toHaveValue('Draft agenda');
  await card(bob.page, id).getByRole('link', { name: 'Draft agenda' }).click();
  await expect(bobEditor.getByLabel('Title')).toHaveValue('Draft agenda');
  await expect(card(alice.page, id).locator(`[data-editing="${bob.name}"]`)).toBeVisible(LIVE);

  // Alice types while Bob saves first.
  await aliceEditor.getByLabel('Title').fill('Agenda for Monday');
  await aliceEditor.getByLabel('Description').fill('Alice: budget first, then hiring.');
  await bobEditor.getByLabel('Title').fill('Final agenda');
  await bobEditor.getByRole('button', { name: 'Save' }).click();
  await expect(bobEditor).toBeHidden();
  // Bob's save has reached Alice's board behind her dialog; her editor kept her text.
  await expect(card(alice.page, id).locator('.card-title')).toHaveText('Final agenda', LIVE);
  await expect(aliceEditor.getByLabel('Title')).toHaveValue('Agenda for Monday');

  await aliceEditor.getByRole('button', { name: 'Save' }).click();
  const conflict = aliceEditor.locator('.conflict');
  await expect(conflict).toBeVisible();
  await expect(conflict).toContainText('Someone saved this card while you were editing.');
  const change = conflict.locator('li', { hasText: `${bob.name} changed the title` });
  await expect(change.locator('del')).toHaveText('Draft agenda');
  await expect(change.locator('ins')).toHaveText('Final agenda');
  await expect(aliceEditor.getByLabel('Title')).toHaveValue('Agenda for Monday');
  await expect(aliceEditor.getByLabel('Description')).toHaveValue('Alice: budget first, then hiring.');
  await expect(aliceEditor).toBeVisible();

  // Saving again applies her text on top of Bob's version.
  await aliceEditor.getByRole('button', { name: 'Save' }).click();
  await expect(aliceEditor).toBeHidden();
  await expect(card(bob.page, id).locator('.card-title')).toHaveText('Agenda for Monday', LIVE);

  await alice.context.close();
  await bob.context.close();
});

// Ids are never reused (autoincrement), so a deleted card's history cannot leak into a new card's conflict.
test('a conflict lists only the changes made to that card, even after another card was deleted', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const board = await newBoard(alice, 'Reused ids', [bob]);
  const api = alice.context.request;
  const gone = await newCard(api, board.id, { title: 'Short-lived', column_id: board.columns.Todo });
  await patchCard(api, gone, { title: 'Short-lived, renamed' });
  expect((await api.delete(`/api/cards/${gone}`)).status()).toBe(204);

  const id = await newCard(api, board.id, { title: 'Fresh card', column_id: board.columns.Todo });
  await openBoard(alice.page, board.id);
  await card(alice.page, id).getByRole('link', { name: 'Fresh card' }).click();
  const editor = alice.page.locator('dialog#editor');
  await expect(editor.getByLabel('Title')).toHaveValue('Fresh card');
  await patchCard(bob.context.request, id, { title: 'Fresh card, by bob' });
  await editor.getByLabel('Title').fill('Fresh card, by alice');
  await editor.getByRole('button', { name: 'Save' }).click();

  const changes = editor.locator('.conflict li');
  await expect(changes.first()).toBeVisible();
  await expect(changes).toHaveText([`${bob.name} changed the title: Fresh card → Fresh card, by bob`]);

  await alice.context.close();
  await bob.context.close();
});
