/**
 * Two safe-switch starts racing to take over a stale lock (its watchdog died): exactly one may win, every time,
 * or two root watchdogs would activate and revert over each other. The real watchdog script runs on this machine
 * with stand-in systems whose switch-to-configuration only records its calls.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { start, type StartResult, type Target } from '../../src/core/safeswitch';

const TRIALS = 300;

function makeSystem(dir: string, name: string): string {
  const top = path.join(dir, name);
  fs.mkdirSync(path.join(top, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(top, 'bin', 'switch-to-configuration'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return top;
}

function stop(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

describe('security: taking over a stale safe-switch lock is atomic', function () {
  this.timeout(300_000);
  let dir: string;

  before(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-lock-race-')));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`gives the lock to exactly one of two racing starts, ${TRIALS} times out of ${TRIALS}`, async () => {
    const local: Target = { kind: 'local' };
    const runDir = path.join(dir, 'run');
    fs.mkdirSync(runDir);
    fs.symlinkSync(makeSystem(dir, 'old'), path.join(runDir, 'current-system'));
    const toplevel = makeSystem(dir, 'new');
    // a pid no process can have (above pid_max): a real dead pid could be reused during the trials
    const dead = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1;
    const doubleWins: number[] = [];
    const noWins: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const stateDir = path.join(dir, `state-${i}`);
      fs.mkdirSync(path.join(stateDir, 'lock'), { recursive: true });
      fs.writeFileSync(path.join(stateDir, 'lock', 'id'), `dead${i}`);
      fs.writeFileSync(path.join(stateDir, 'lock', 'pid'), String(dead));
      const options = { toplevel, confirmSeconds: 600, runDir, stateDir, launcher: 'detached' as const };
      const results: StartResult[] = await Promise.all([
        start(local, { ...options, id: `a${i}` }),
        start(local, { ...options, id: `b${i}` }),
      ]);
      const winners = results.filter((r) => r.ok);
      for (const r of results) if (r.ok) stop(r.pid);
      if (winners.length > 1) doubleWins.push(i);
      if (winners.length === 0) noWins.push(i);
      for (const r of results) {
        if (!r.ok) assert.ok(r.busy !== null || /busy/.test(r.message), `a loser is refused as busy: ${r.message}`);
      }
    }
    assert.deepEqual(doubleWins, [], `both starts won in ${doubleWins.length} of ${TRIALS} trials`);
    assert.deepEqual(noWins, [], `nobody won in ${noWins.length} of ${TRIALS} trials`);
  });
});
