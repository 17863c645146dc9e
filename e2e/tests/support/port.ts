// Free TCP ports on 127.0.0.1, for the suite's server (chosen in the config) and a test's own server.

import { execFileSync } from 'node:child_process';
import net from 'node:net';

const PICK = `const s = require('net').createServer();
s.listen(0, '127.0.0.1', () => { process.stdout.write(String(s.address().port)); s.close(); });`;

/** A free port, synchronously (the config is evaluated synchronously). */
export function freePortSync(): number {
  return Number(execFileSync(process.execPath, ['-e', PICK], { encoding: 'utf8' }));
}

/** A free port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
