// Test support: users, boards and live pages, shared by every spec. Specs drive the UI for what
// they test and use these shortcuts (HTTP forms and the JSON API) for everything else.

import { expect, type APIRequestContext, type Browser, type BrowserContext, type Page } from '@playwright/test';

/** The suite's server (started by the config's webServer). */
export const baseURL = `http://127.0.0.1:${process.env.E2E_PORT}`;

export const PASSWORD = 'e2e-password-1';

/**
 * A unique username: the given name and a random suffix with no separator, so avatars still show
 * the name's first two letters ("alice4k2x" → "AL").
 */
export function uniqueName(name: string): string {
  return `${name}${Math.random().toString(36).slice(2, 7)}`;
}

export interface User {
  name: string;
  context: BrowserContext;
  page: Page;
}

/** A browser context signed in as a new user called `name` and a random suffix (signed up with a POST /signup form). */
export async function newUser(browser: Browser, name: string, url = baseURL): Promise<User> {
  const user = await signUp(browser, uniqueName(name), url);
  expect(user, `sign up ${name}…`).not.toBeNull();
  return user as User;
}

/** A browser context signed in as a new user of exactly this name, or null when the name is taken. */
export async function signUp(browser: Browser, username: string, url = baseURL): Promise<User | null> {
  const context = await browser.newContext({ baseURL: url, viewport: { width: 1280, height: 800 } });
  const res = await context.request.post('/signup', { form: { username, password: PASSWORD } });
  if (res.status() === 409 || res.status() === 422 || res.status() === 400) {
    await context.close();
    return null;
  }
  expect(res.ok(), `sign up ${username}: ${res.status()}`).toBeTruthy();
  expect(new URL(res.url()).pathname, 'sign-up redirects home').toBe('/');
  const page = await context.newPage();
  return { name: username, context, page };
}

export interface BoardInfo {
  id: number;
  /** Column ids by name: Todo, Doing, Done. */
  columns: Record<string, number>;
}

/** Creates a board through the JSON API, with the given users as members. */
export async function newBoard(owner: User, name: string, members: User[] = []): Promise<BoardInfo> {
  const api = owner.context.request;
  const created = await api.post('/api/boards', { data: { name } });
  expect(created.status()).toBe(201);
  const { id } = await created.json();
  for (const m of members) {
    const added = await api.post(`/api/boards/${id}/members`, { data: { username: m.name } });
    expect(added.status(), `add ${m.name}`).toBe(201);
  }
  return { id, columns: await columnIds(api, id) };
}

export async function columnIds(api: APIRequestContext, board: number): Promise<Record<string, number>> {
  const res = await api.get(`/api/boards/${board}`);
  expect(res.ok()).toBeTruthy();
  const snap = await res.json();
  return Object.fromEntries(snap.columns.map((c: { name: string; id: number }) => [c.name, c.id]));
}

export interface CardInit {
  title: string;
  column_id?: number;
  description?: string;
  assignee?: string | null;
  labels?: string[];
}

/** Creates a card through the JSON API; returns its id. */
export async function newCard(api: APIRequestContext, board: number, card: CardInit): Promise<number> {
  const res = await api.post(`/api/boards/${board}/cards`, { data: card });
  expect(res.status(), await res.text()).toBe(201);
  return (await res.json()).id;
}

/** Changes a card through the JSON API. */
export async function patchCard(api: APIRequestContext, card: number, patch: Record<string, unknown>) {
  const res = await api.patch(`/api/cards/${card}`, { data: patch });
  expect(res.ok(), await res.text()).toBeTruthy();
  return res.json();
}

/** Opens a board page and waits until its live connection is open: events after this reach it. */
export async function openBoard(page: Page, board: number, query = ''): Promise<void> {
  await page.goto(`/boards/${board}${query}`);
  await expectLive(page);
}

export async function expectLive(page: Page, timeout = 5_000): Promise<void> {
  await expect(page.locator('#live-status')).toHaveAttribute('data-state', 'live', { timeout });
  await expect(page.locator('body')).toHaveAttribute('data-live', 'live', { timeout });
}

/** A card on a page, by id. */
export function card(page: Page, id: number) {
  return page.locator(`#card-${id}`);
}

/** The cards list of a column on a page. */
export function columnCards(page: Page, column: number) {
  return page.locator(`#column-${column}-cards`);
}

/** The ids of the cards a column shows, in order. */
export async function cardIdsIn(page: Page, column: number): Promise<number[]> {
  return columnCards(page, column)
    .locator('> li.card')
    .evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.id)));
}

/** For what another user must see "at once": a live update, not a reload. */
export const LIVE = { timeout: 1_000 };

/** Marks a page's document, so a later check can prove it was never reloaded. */
export async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { e2eMark: boolean }).e2eMark = true));
}

/** The page still shows the document `markDocument` marked: no reload, no navigation. */
export async function expectSameDocument(page: Page): Promise<void> {
  const marked = await page.evaluate(() => (window as unknown as { e2eMark?: boolean }).e2eMark === true);
  expect(marked, 'the page was not reloaded').toBe(true);
}
