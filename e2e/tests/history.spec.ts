// Activity and history from the event log: another user's move appears in the board's activity
// panel and the card's history without a reload, and a returning user is told what changed since
// their last visit, with the changed card marked. (Presence "is editing" is activity.spec.ts.)

import { expect, test } from '@playwright/test';
import {
  LIVE,
  PASSWORD,
  baseURL,
  card,
  expectSameDocument,
  markDocument,
  newBoard,
  newCard,
  newUser,
  openBoard,
  patchCard,
  uniqueName,
} from './support';

test('alice sees bob move a card in the activity panel and in the card history, live', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const board = await newBoard(alice, 'Launch', [bob]);
  const id = await newCard(alice.context.request, board.id, { title: 'Fix login', column_id: board.columns.Todo });
  await openBoard(alice.page, board.id);
  await markDocument(alice.page);
  const panel = alice.page.locator('#activity');
  await expect(panel.locator('li.entry').first()).toContainText(`${alice.name} created card “Fix login” in Todo`);

  await patchCard(bob.context.request, id, { column_id: board.columns.Doing });

  const newest = panel.locator('li.entry').first();
  await expect(newest).toContainText(`${bob.name} moved “Fix login” from Todo to Doing`, LIVE);
  await expect(newest.locator('time[datetime]')).toHaveText('just now');
  await expectSameDocument(alice.page);

  // The card's editor shows its history, and a comment by Bob joins it live.
  await card(alice.page, id).getByRole('link', { name: 'Fix login' }).click();
  const history = alice.page.locator(`#card-${id}-history`);
  await expect(history.locator('li.entry').first()).toContainText(`${bob.name} moved “Fix login” from Todo to Doing`);
  const posted = await bob.context.request.post(`/api/cards/${id}/comments`, { data: { body: 'on it' } });
  expect(posted.status()).toBe(201);
  await expect(history.locator('li.entry').first()).toContainText(`${bob.name} commented on “Fix login”`, LIVE);

  // The whole activity, as a plain page.
  await alice.page.goto(`/boards/${board.id}/activity`);
  await expect(alice.page.getByRole('heading', { name: 'Activity on Launch' })).toBeVisible();
  await expect(alice.page.locator('li.entry').first()).toContainText(`${bob.name} commented on “Fix login”`);

  await alice.context.close();
  await bob.context.close();
});

test('coming back, alice is told what bob changed since her last visit', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const board = await newBoard(alice, 'Away', [bob]);
  const api = alice.context.request;
  const moved = await newCard(api, board.id, { title: 'Book venue', column_id: board.columns.Todo });
  const mine = await newCard(api, board.id, { title: 'Order food', column_id: board.columns.Todo });
  // A first visit (the page, loaded without a live socket): nothing to tell yet.
  const first = await api.get(`/boards/${board.id}`);
  expect(await first.text()).not.toContain('since your last visit');

  await patchCard(bob.context.request, moved, { column_id: board.columns.Done });
  await patchCard(bob.context.request, moved, { title: 'Book the venue' });
  await patchCard(api, mine, { column_id: board.columns.Doing });

  await openBoard(alice.page, board.id);
  const line = alice.page.getByRole('link', { name: '2 changes since your last visit' });
  await expect(line).toBeVisible();
  await expect(card(alice.page, moved)).toHaveClass(/\bchanged\b/);
  await expect(card(alice.page, moved)).toContainText('changed since your last visit');
  await expect(card(alice.page, mine)).not.toHaveClass(/\bchanged\b/);

  await line.click();
  await expect(alice.page).toHaveURL(new RegExp(`/boards/${board.id}/activity\\?since=\\d+$`));
  const entries = alice.page.locator('li.entry');
  await expect(entries.first()).toContainText(`${alice.name} moved “Order food” from Todo to Doing`);
  await expect(entries.nth(1)).toContainText(`${bob.name} renamed card “Book venue” to “Book the venue”`);
  await expect(entries.nth(2)).toContainText(`${bob.name} moved “Book venue” from Todo to Done`);
  await expect(entries).toHaveCount(3);

  // Seen now: the board says nothing more.
  await openBoard(alice.page, board.id);
  await expect(alice.page.locator('.since-visit')).toHaveCount(0);

  await alice.context.close();
  await bob.context.close();
});

test('without javascript, the activity is a plain page, paged with "Older"', async ({ browser }) => {
  const name = uniqueName('carol');
  const context = await browser.newContext({ baseURL, javaScriptEnabled: false });
  const signup = await context.request.post('/signup', { form: { username: name, password: PASSWORD } });
  expect(signup.ok()).toBeTruthy();
  const carol = { name, context, page: await context.newPage() };
  const board = await newBoard(carol, 'Paper');
  for (const title of ['One', 'Two', 'Three']) await newCard(context.request, board.id, { title, column_id: board.columns.Todo });

  const p = carol.page;
  await p.goto(`/boards/${board.id}`);
  await expect(p.locator('#activity li.entry').first()).toContainText(`${name} created card “Three” in Todo`);
  await p.getByRole('link', { name: 'All activity' }).click();
  await p.goto(`${p.url()}?limit=2`);
  await expect(p.locator('li.entry')).toHaveCount(2);
  await p.getByRole('link', { name: 'Older' }).click();
  await expect(p.locator('li.entry').first()).toContainText(`${name} created card “One” in Todo`);
  await expect(p.locator('time[data-relative]').first()).toHaveText('just now');

  await context.close();
});
