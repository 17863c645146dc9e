// Scenario 1: sign up, log out, log in; a wrong password keeps the username; anonymous visitors go to /login.

import { expect, test } from '@playwright/test';
import { PASSWORD, baseURL, uniqueName } from './support';

test('a visitor signs up, logs out and logs back in; a wrong password keeps the username', async ({ browser }) => {
  const name = uniqueName('alice');
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();

  // Sign up through the form.
  await page.goto('/signup');
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page).toHaveURL(`${baseURL}/`);
  await expect(page.getByRole('heading', { name: 'Your boards' })).toBeVisible();
  await expect(page.locator('.whoami')).toContainText(name);

  // Log out: the session is gone, so home sends us to the log-in page.
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(`${baseURL}/login`);
  await page.goto('/');
  await expect(page).toHaveURL(`${baseURL}/login`);

  // A wrong password: an error, and the username is still in the form.
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong username or password');
  await expect(page.getByLabel('Username')).toHaveValue(name);
  await expect(page.getByLabel('Password')).toHaveValue('');

  // The right password.
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(`${baseURL}/`);
  await expect(page.locator('.whoami')).toContainText(name);

  await context.close();
});

test('an anonymous visitor is sent to the log-in page', async ({ browser }) => {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  for (const path of ['/', '/boards/1', '/cards/1', '/settings']) {
    await page.goto(path);
    await expect(page, `${path} redirects`).toHaveURL(`${baseURL}/login`);
    await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  }
  await context.close();
});
