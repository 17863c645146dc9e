// A cluster of a test's own: redis-server on a free port, a writer with a fresh database and two
// edges, all on loopback, each stopped by its pid (cluster.spec.ts). The suite's single server is untouched.

import { expect } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './port';
import { LIVEBOARD_BIN, SERVER_ENV } from './server-env';

const SECRET = 'e2e-cluster-secret';

class Proc {
  log = '';
  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    proc.stdout?.on('data', (d) => (this.log += d));
    proc.stderr?.on('data', (d) => (this.log += d));
  }

  /** SIGKILL by pid: nothing of ours outlives the test. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p.pid || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    process.kill(p.pid, 'SIGKILL');
    await exited;
  }
}

async function until200(url: string, proc: Proc): Promise<void> {
  await expect
    .poll(
      async () => {
        if (proc.proc.exitCode !== null) throw new Error(`${proc.name} exited with ${proc.proc.exitCode}:\n${proc.log}`);
        return fetch(url).then(
          (r) => r.status,
          () => 0,
        );
      },
      { timeout: 20_000, intervals: [50, 100, 200] },
    )
    .toBe(200);
}

export class Cluster {
  private procs: Proc[] = [];
  writer = '';
  a = '';
  b = '';

  private constructor(private readonly dir: string) {}

  static async start(): Promise<Cluster> {
    const c = new Cluster(mkdtempSync(path.join(tmpdir(), 'liveboard-e2e-cluster-')));
    try {
      await c.boot();
    } catch (e) {
      await c.dispose();
      throw e;
    }
    return c;
  }

  private async boot(): Promise<void> {
    const redisPort = await freePort();
    const redis = new Proc(
      'redis',
      spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    this.procs.push(redis);
    const common = { ...SERVER_ENV, REDIS_URL: `redis://127.0.0.1:${redisPort}/0`, CLUSTER_SECRET: SECRET };
    const writerPort = await freePort();
    this.writer = `http://127.0.0.1:${writerPort}`;
    // The writer retries Redis until it answers, so it can start right away.
    await this.node('writer', writerPort, { LIVEBOARD_ROLE: 'writer', DATABASE_URL: `sqlite://${path.join(this.dir, 'writer.db')}` }, common);
    const [pa, pb] = [await freePort(), await freePort()];
    this.a = `http://127.0.0.1:${pa}`;
    this.b = `http://127.0.0.1:${pb}`;
    await this.node('edge-a', pa, { LIVEBOARD_ROLE: 'edge', WRITER_URL: this.writer }, common);
    await this.node('edge-b', pb, { LIVEBOARD_ROLE: 'edge', WRITER_URL: this.writer }, common);
  }

  private async node(id: string, port: number, env: Record<string, string>, common: Record<string, string>) {
    const p = new Proc(
      id,
      spawn(LIVEBOARD_BIN, [], {
        env: { ...process.env, ...common, ...env, NODE_ID: id, PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    this.procs.push(p);
    await until200(`http://127.0.0.1:${port}/health`, p);
  }

  /** Stops every process by its pid and removes the database. */
  async dispose(): Promise<void> {
    for (const p of this.procs.reverse()) await p.kill();
    this.procs = [];
    rmSync(this.dir, { recursive: true, force: true });
  }
}
