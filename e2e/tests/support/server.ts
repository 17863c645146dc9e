// A server of a test's own: a second port and database, stopped and restarted by the test (reconnect.spec.ts).

import { expect } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './port';
import { LIVEBOARD_BIN, SERVER_ENV } from './server-env';

export class OwnServer {
  private proc: ChildProcess | null = null;
  private log = '';

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  /** A server on a free port with a fresh database, up and answering /health. */
  static async start(): Promise<OwnServer> {
    const server = new OwnServer(await freePort(), mkdtempSync(path.join(tmpdir(), 'liveboard-e2e-own-')));
    await server.restart();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Starts the binary (again) on the same port and database, and waits until /health answers. */
  async restart(): Promise<void> {
    expect(this.proc, 'already running').toBeNull();
    const proc = spawn(LIVEBOARD_BIN, [], {
      env: {
        ...process.env,
        ...SERVER_ENV,
        PORT: String(this.port),
        DATABASE_URL: `sqlite://${path.join(this.dir, 'own.db')}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.on('data', (d) => (this.log += d));
    proc.stderr?.on('data', (d) => (this.log += d));
    this.proc = proc;
    await expect
      .poll(
        async () => {
          if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}:\n${this.log}`);
          return fetch(`${this.url}/health`).then(
            (r) => r.status,
            () => 0,
          );
        },
        { timeout: 15_000, intervals: [50, 100, 200] },
      )
      .toBe(200);
  }

  /** Stops it by its pid: SIGTERM (it closes its sockets with 1012), SIGKILL if it lingers. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc?.pid) return;
    this.proc = null;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    process.kill(proc.pid, 'SIGTERM');
    const timer = setTimeout(() => proc.pid && process.kill(proc.pid, 'SIGKILL'), 8_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops it and removes its database. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
