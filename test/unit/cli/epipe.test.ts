import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

describe('nixos-generations output into a closed pipe', () => {
  it('stops quietly when the reader goes away (`list --json | head`), no stack trace', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-epipe-'));
    try {
      // 1,000 generations (their store paths garbage-collected): one write far larger than a pipe holds
      for (let i = 1; i <= 1000; i++) {
        fs.symlinkSync(`/nix/store/${'a'.repeat(32)}-nixos-system-x-${i}`, path.join(dir, `system-${i}-link`));
      }
      fs.symlinkSync('system-1000-link', path.join(dir, 'system'));
      const main = path.resolve(__dirname, '../../../src/cli/main.js');
      const argv = [main, 'list', '--json', '--no-cache', '--profile', path.join(dir, 'system'), '--run-dir', dir];
      const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const first = await new Promise<string>((resolve) =>
        child.stdout.once('data', (c: Buffer) => resolve(c.toString())),
      );
      child.stdout.destroy();
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      assert.match(first, /^\[/);
      assert.equal(stderr, '');
      assert.equal(code, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
