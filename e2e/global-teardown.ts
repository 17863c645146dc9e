// After the run: remove the suite's temporary database folder (chosen in playwright.config.ts).

import { rmSync } from 'node:fs';

export default function globalTeardown() {
  const dir = process.env.E2E_DB_DIR;
  if (dir) rmSync(dir, { recursive: true, force: true });
}
