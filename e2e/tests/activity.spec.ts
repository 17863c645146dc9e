// Scenario 5: "alice is editing" and "alice is typing…" on the card, for everyone else on the board.

import { expect, test } from '@playwright/test';
import { LIVE, card, newBoard, newCard, newUser, openBoard } from './support';

/** TYPING_TTL_MS in the e2e server's environment (playwright.config.ts). */
const TYPING_TTL_MS = 2000;

test('bob sees alice editing a card, typing in it, and stopping', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const board = await newBoard(alice, 'Activity', [bob]);
  const id = await newCard(alice.context.request, board.id, { title: 'Plan the offsite', column_id: board.columns.Todo });
  await openBoard(alice.page, board.id);
  await openBoard(bob.page, board.id);
  const onBobsCard = card(bob.page, id);

  // Opening the editor is "editing".
  await card(alice.page, id).getByRole('link', { name: 'Plan the offsite' }).click();
  const editor = alice.page.locator('dialog#editor');
  await expect(editor).toBeVisible();
  const editing = onBobsCard.locator(`[data-editing="${alice.name}"]`);
  await expect(editing).toBeVisible(LIVE);
  await expect(editing).toContainText(`${alice.name} is editing`);
  // Only the other user is told; Alice's own card says nothing about her.
  await expect(card(alice.page, id).locator('[data-editing]')).toHaveCount(0);

  // Typing in the description is "typing…".
  await editor.getByLabel('Description').pressSequentially('Friday, ');
  const typing = onBobsCard.locator(`[data-typing-user="${alice.name}"]`);
  await expect(typing).toBeVisible(LIVE);
  await expect(typing).toHaveText(`${alice.name} is typing…`);

  // She stops: "typing" ends after the typing TTL, "editing" stays while the editor is open.
  const stoppedAt = Date.now();
  await expect(typing).toHaveCount(0, { timeout: TYPING_TTL_MS + 3_000 });
  expect(Date.now() - stoppedAt).toBeGreaterThan(TYPING_TTL_MS / 2);
  await expect(editing).toBeVisible();

  // Closing the editor ends "editing".
  await editor.getByRole('link', { name: 'Cancel' }).click();
  await expect(editor).toBeHidden();
  await expect(editing).toHaveCount(0, LIVE);

  await alice.context.close();
  await bob.context.close();
});
