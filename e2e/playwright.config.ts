// Playwright drives Debian's chromium against the already built server binary (see run.sh and the Makefile).
//
// The config is evaluated by the main process and again by each worker: the port and the database are
// chosen once, in the main process, and handed to workers (and the server) through the environment.

import { defineConfig } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePortSync } from './tests/support/port';
import { LIVEBOARD_BIN, SERVER_ENV } from './tests/support/server-env';

if (!process.env.E2E_PORT) process.env.E2E_PORT = String(freePortSync());
if (!process.env.E2E_DB_DIR) process.env.E2E_DB_DIR = mkdtempSync(path.join(tmpdir(), 'liveboard-e2e-'));

const port = process.env.E2E_PORT;
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: './tests',
  globalTeardown: './global-teardown.ts',
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 5_000 },
  reporter: [
    ['list'],
    ['html', { open: 'never' }],
    ['json', { outputFile: 'test-results/e2e-results.json' }],
  ],
  // The reporters' own folder is test-results/: keep Playwright's per-test artifacts out of it,
  // so the JSON report and the screenshot are not wiped at the start of a run.
  outputDir: 'test-results/artifacts',
  use: {
    baseURL,
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: `"${LIVEBOARD_BIN}"`,
    url: `${baseURL}/health`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      ...SERVER_ENV,
      PORT: port,
      DATABASE_URL: `sqlite://${path.join(process.env.E2E_DB_DIR, 'e2e.db')}`,
    },
  },
});
