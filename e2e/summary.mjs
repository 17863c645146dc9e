// Reads Playwright's JSON report and prints one plain line for CI: `e2e: N passed, N failed`.
// Exits non-zero when a test failed or passed unexpectedly, the run had errors, or the report is missing.

import { readFileSync } from 'node:fs';

const file = new URL('./test-results/e2e-results.json', import.meta.url);
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  console.log('e2e: 0 passed, 1 failed');
  console.error(`summary: no readable report at ${file.pathname}: ${err.message}`);
  process.exit(1);
}

const { expected = 0, unexpected = 0, flaky = 0 } = report.stats ?? {};
const errors = report.errors?.length ?? 0;
const failed = unexpected + errors;
console.log(`e2e: ${expected + flaky} passed, ${failed} failed`);
process.exit(failed > 0 || expected + flaky === 0 ? 1 : 0);
