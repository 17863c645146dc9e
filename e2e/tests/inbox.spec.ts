// @mentions and the live inbox: Bob's header badge follows a mention without a reload (on a page
// with the JSON socket and on a board page), Carol, not mentioned, gets nothing, and Bob opens the
// card from /notifications and marks everything read with the plain form.

import { expect, test } from '@playwright/test';
import { LIVE, expectLive, expectSameDocument, markDocument, newBoard, newCard, newUser, openBoard } from './support';

test('bob mentioned by alice sees his badge change live and opens the card from his inbox', async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  const bob = await newUser(browser, 'bob');
  const carol = await newUser(browser, 'carol');
  const board = await newBoard(alice, 'Inbox', [bob, carol]);
  const cardId = await newCard(alice.context.request, board.id, { title: 'Fix login' });

  // Bob on the home page (the inbox's own JSON socket), Carol on the board (its board socket).
  await bob.page.goto('/');
  const bobBadge = bob.page.locator('#inbox-badge');
  await expect(bobBadge).toHaveAttribute('data-unread', '0');
  await expect(bobBadge).toHaveAttribute('data-live', 'open');
  await markDocument(bob.page);
  await openBoard(carol.page, board.id);
  const carolBadge = carol.page.locator('#inbox-badge');
  await expect(carolBadge).toHaveAttribute('data-unread', '0');

  const res = await alice.context.request.post(`/api/cards/${cardId}/comments`, {
    data: { body: `@${bob.name} can you look at this?` },
  });
  expect(res.status()).toBe(201);

  await expect(bobBadge).toHaveAttribute('data-unread', '1', LIVE);
  await expect(bobBadge.locator('.count')).toHaveText('1');
  await expectSameDocument(bob.page);

  // A board page of Bob's follows too, over the board's own socket.
  const bobBoard = await bob.context.newPage();
  await openBoard(bobBoard, board.id);
  await markDocument(bobBoard);
  await alice.context.request.post(`/api/cards/${cardId}/comments`, { data: { body: `again @${bob.name}` } });
  await expect(bobBoard.locator('#inbox-badge')).toHaveAttribute('data-unread', '2', LIVE);
  await expect(bobBadge).toHaveAttribute('data-unread', '2', LIVE);
  await expectSameDocument(bobBoard);
  // Carol was never mentioned: her badge is where it was, on a page that stayed live throughout.
  await expectLive(carol.page);
  await expect(carolBadge).toHaveAttribute('data-unread', '0');

  // The inbox lists both, newest first; the card opens from it.
  await bobBadge.click();
  await expect(bob.page).toHaveURL(/\/notifications$/);
  const items = bob.page.locator('li.notification');
  await expect(items).toHaveCount(2);
  await expect(items.first()).toContainText(`again @${bob.name}`);
  await expect(items.first()).toContainText(alice.name);
  await items.first().getByRole('link', { name: 'Fix login' }).click();
  await expect(bob.page).toHaveURL(new RegExp(`/cards/${cardId}$`));
  await expect(bob.page.locator('input[name="title"]')).toHaveValue('Fix login');

  // Mark one read, then all, with the page's plain forms; the board tab's badge follows live.
  await bob.page.goto('/notifications');
  await bob.page.locator('li.notification').first().getByRole('button', { name: 'Mark read' }).click();
  await expect(bob.page.locator('#inbox-badge')).toHaveAttribute('data-unread', '1');
  await expect(bobBoard.locator('#inbox-badge')).toHaveAttribute('data-unread', '1', LIVE);
  await bob.page.getByRole('button', { name: 'Mark all read' }).click();
  await expect(bob.page.locator('#inbox-badge')).toHaveAttribute('data-unread', '0');
  await expect(bob.page.locator('li.notification.unread')).toHaveCount(0);
  await expect(bobBoard.locator('#inbox-badge')).toHaveAttribute('data-unread', '0', LIVE);
  await expect(bobBoard.locator('#inbox-badge .count')).toHaveCount(0);

  // The inbox page itself shows a new mention without a reload.
  await expect(bob.page.locator('#inbox-badge')).toHaveAttribute('data-live', 'open');
  await markDocument(bob.page);
  await alice.context.request.post(`/api/cards/${cardId}/comments`, { data: { body: `last one @${bob.name}` } });
  await expect(bob.page.locator('li.notification.unread')).toHaveCount(1, LIVE);
  await expect(bob.page.locator('li.notification.unread')).toContainText('last one');
  await expect(bob.page.locator('#inbox-badge')).toHaveAttribute('data-unread', '1');
  await expectSameDocument(bob.page);

  await alice.context.close();
  await bob.context.close();
  await carol.context.close();
});
