// The environment every e2e server gets: the suite's (playwright.config.ts) and a test's own (server.ts).

/** Short presence timings, so tests wait seconds, not the production defaults. */
export const SERVER_ENV = {
  HOST: '127.0.0.1',
  PRESENCE_GRACE_MS: '1500',
  TYPING_TTL_MS: '2000',
  // The whole suite signs users up and in from one address, faster than a person would.
  LOGIN_ATTEMPTS_PER_MINUTE: '10000',
  RUST_LOG: 'warn',
};

/** The binary under test (the Makefile passes target/debug/liveboard, the build the Rust tests used). */
export const LIVEBOARD_BIN = process.env.LIVEBOARD_BIN || `${__dirname}/../../../target/debug/liveboard`;
