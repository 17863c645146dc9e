// Scenario 4: presence counts a user once however many tabs, and keeps them a grace period after the last.

import { expect, test } from '@playwright/test';
import { LIVE, newBoard, newUser, openBoard } from './support';

/** PRESENCE_GRACE_MS in the e2e server's environment (playwright.config.ts). */
const GRACE_MS = 1500;

test('bob is shown while any of his tabs is open, and gone a grace period after the last', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const carol = await newUser(browser, 'carol');
  const board = await newBoard(alice, 'Presence', [bob, carol]);
  const bar = alice.page.locator('#presence');
  const bobShown = bar.locator(`[data-present="${bob.name}"]`);

  await openBoard(alice.page, board.id);
  await expect(bar.locator(`[data-present="${alice.name}"]`)).toBeVisible();

  // Bob opens the board: Alice sees him.
  const tab1 = bob.page;
  await openBoard(tab1, board.id);
  await expect(bobShown).toBeVisible(LIVE);

  // A second tab, then the first closes: still one Bob.
  const tab2 = await bob.context.newPage();
  await openBoard(tab2, board.id);
  await expect(bobShown).toHaveCount(1);
  await tab1.close();

  // Proof that the grace period after that close has passed, without sleeping: Carol comes and goes
  // after it, and her leave is announced a grace period after her own close.
  await openBoard(carol.page, board.id);
  const carolShown = bar.locator(`[data-present="${carol.name}"]`);
  await expect(carolShown).toBeVisible(LIVE);
  await carol.page.close();
  await expect(carolShown).toHaveCount(0, { timeout: GRACE_MS + 3_000 });
  await expect(bobShown).toHaveCount(1);

  // The last tab closes: Bob stays for the grace period (a reload would not flicker), then goes.
  const closedAt = Date.now();
  await tab2.close();
  await expect(bobShown).toHaveCount(0, { timeout: GRACE_MS + 3_000 });
  expect(Date.now() - closedAt, 'left only after the grace period').toBeGreaterThanOrEqual(GRACE_MS - 100);
  await expect(bar.locator(`[data-present="${alice.name}"]`)).toBeVisible();

  await alice.context.close();
  await bob.context.close();
  await carol.context.close();
});
