// Scenario 10: the README's picture: a tidy board with two users on it, taken from the live page.

import { expect, test } from '@playwright/test';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { LIVE, card, newBoard, newCard, newUser, openBoard, signUp } from './support';

const SHOT = path.join(__dirname, '..', 'test-results', 'board-two-users.png');
const README_SHOT = path.join(__dirname, '..', '..', 'docs', 'screenshot.png');

test('a board with two users present, for the README', async ({ browser }) => {
  // The README's demo names when they are free (a fresh database), unique ones otherwise.
  const alice = (await signUp(browser, 'alice')) ?? (await newUser(browser, 'alice'));
  const bob = (await signUp(browser, 'bob')) ?? (await newUser(browser, 'bob'));
  const board = await newBoard(alice, 'Website relaunch', [bob]);
  const { Todo, Doing, Done } = board.columns;
  const api = alice.context.request;
  const cards: [string, number, string, string | null, string[]][] = [
    ['Draft the new landing page copy', Todo, 'Short, friendly, one call to action.', alice.name, ['content']],
    ['Pick a colour palette', Todo, '', null, ['design']],
    ['Set up the staging server', Todo, '', bob.name, ['ops']],
    ['Migrate the blog posts', Doing, 'Keep the old URLs working with redirects.', bob.name, ['content', 'ops']],
    ['Accessibility review', Doing, '', alice.name, ['a11y']],
    ['Choose the new domain', Done, '', alice.name, []],
    ['Kick-off meeting', Done, '', null, []],
  ];
  const ids: number[] = [];
  for (const [title, column_id, description, assignee, labels] of cards) {
    ids.push(await newCard(api, board.id, { title, column_id, description, assignee, labels }));
  }

  await openBoard(alice.page, board.id);
  await openBoard(bob.page, board.id);
  await expect(alice.page.locator(`#presence [data-present="${bob.name}"]`)).toBeVisible(LIVE);
  await expect(alice.page.locator(`#presence [data-present="${alice.name}"]`)).toBeVisible();

  // Bob is working on a card: Alice sees it on the board.
  await card(bob.page, ids[3]).getByRole('link').click();
  await expect(bob.page.locator('dialog#editor')).toBeVisible();
  await expect(card(alice.page, ids[3]).locator(`[data-editing="${bob.name}"]`)).toBeVisible(LIVE);

  await alice.page.mouse.move(0, 0); // no hover effects in the picture
  mkdirSync(path.dirname(SHOT), { recursive: true });
  await alice.page.screenshot({ path: SHOT });
  copyFileSync(SHOT, README_SHOT);

  await alice.context.close();
  await bob.context.close();
});
