// Checklist items in the card editor dialog: Alice adds, ticks, reorders and deletes items without
// leaving the board (board.js posts the forms in place); Bob, with the same card open, sees each
// item arrive, and the "done/total" on the card on his board changes live.

import { expect, test } from '@playwright/test';
import { LIVE, card, expectLive, markDocument, expectSameDocument, newBoard, newCard, newUser, openBoard } from './support';

test('checklist items worked on in alices editor reach bobs editor and his card count at once', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const board = await newBoard(alice, 'Trip', [bob]);
  const cardId = await newCard(alice.context.request, board.id, { title: 'Pack' });
  const a = alice.page;
  const b = bob.page;
  await openBoard(a, board.id);
  await openBoard(b, board.id);
  await markDocument(a);

  // Both open the card's editor; Alice adds two items with the checklist's own form.
  for (const page of [a, b]) await card(page, cardId).getByRole('link', { name: 'Pack' }).click();
  const ea = a.locator('dialog#editor');
  const eb = b.locator('dialog#editor');
  await expect(eb.locator('.checklist')).toBeVisible();
  const input = ea.getByLabel('New checklist item');
  await input.fill('tent');
  await input.press('Enter');
  await expect(ea.locator('.checklist-item', { hasText: 'tent' })).toBeVisible(LIVE);
  await expect(input).toHaveValue('');
  await input.fill('stove');
  await input.press('Enter');
  await expect(eb.locator('.checklist-item .checklist-text')).toHaveText(['tent', 'stove'], LIVE);
  await expect(card(b, cardId).locator('[data-checklist-count]')).toHaveText('☑ 0/2', LIVE);

  // Tick, reorder, delete: each shows up for Bob without a reload, and Alice stays on the board.
  await ea.getByRole('button', { name: 'Tick tent', exact: true }).click();
  await expect(eb.getByRole('button', { name: 'Untick tent' })).toBeVisible(LIVE);
  await expect(card(b, cardId).locator('[data-checklist-count]')).toHaveText('☑ 1/2', LIVE);
  await ea.getByRole('button', { name: 'Move stove up' }).click();
  await expect(eb.locator('.checklist-item .checklist-text')).toHaveText(['stove', 'tent'], LIVE);
  await ea.getByRole('button', { name: 'Delete stove' }).click();
  await expect(eb.locator('.checklist-item .checklist-text')).toHaveText(['tent'], LIVE);
  await expect(card(b, cardId).locator('[data-checklist-count]')).toHaveText('☑ 1/1', LIVE);

  // A refused item re-renders the editor with the message and the text kept.
  await input.fill(' ');
  await ea.locator('[data-checklist-add]').evaluate((f: HTMLFormElement) => f.requestSubmit());
  await expect(ea.getByRole('alert')).toContainText("can't be empty");
  await expectSameDocument(a);
  await expectLive(a);
});
