/**
 * Safe switch with faults injected, end to end: a real sshd on 127.0.0.1 is the target host, the target's system
 * profile is a real Nix profile of fixture generations (their `switch-to-configuration` records each call), and the
 * watchdog runs on the target as it would on a NixOS machine without systemd as PID 1 (a detached process).
 *
 * The confirmation path is cut in several ways (never answered, the client process killed, the network gone when
 * the user presses Keep) and every time the target must go back to the previous system by itself, with its boot
 * default untouched. A confirmed switch must stay and become the boot default; a failing health check reverts; a
 * second switch on the same target is refused. The time from the deadline to the observed revert is printed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  probe,
  safeSwitch,
  status,
  systemdRunArgv,
  type SafeSwitchOptions,
  type SafeSwitchResult,
  type Target,
  type WatchdogEvent,
} from '../../src/core/safeswitch';
import { buildFixture, type NixFixture } from '../fixtures/fixture';
import { startSshd, type TestSshd } from '../lib/sshd';

const CONFIRM_SECONDS = 3;
const TRIALS = Number(process.env.NIXGEN_SAFESWITCH_TRIALS ?? 5);

interface StcCall {
  toplevel: string;
  action: string;
  /** Local time (ms) at which the test saw the line appear. */
  seenAt: number;
}

/** Watches the fixture's switch-to-configuration log and notes when each line appears (20 ms resolution). */
class StcWatcher {
  readonly calls: StcCall[] = [];
  private timer: NodeJS.Timeout;
  constructor(readonly file: string) {
    this.timer = setInterval(() => this.read(), 20);
  }
  read(): void {
    let text = '';
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return;
    }
    const lines = text.split('\n').filter((l) => l !== '');
    for (const line of lines.slice(this.calls.length)) {
      const [, toplevel, action] = line.split(' ');
      this.calls.push({ toplevel: toplevel!, action: action!, seenAt: Date.now() });
    }
  }
  async waitFor(pred: (calls: StcCall[]) => boolean, limitMs: number): Promise<boolean> {
    const until = Date.now() + limitMs;
    while (Date.now() < until) {
      this.read();
      if (pred(this.calls)) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    this.read();
    return pred(this.calls);
  }
  stop(): void {
    clearInterval(this.timer);
    this.read();
  }
}

function pidAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.split(' ')[2] !== 'Z';
  } catch {
    return false;
  }
}

describe('safe switch over ssh with faults injected (real sshd, fixture generations)', function () {
  this.timeout(240_000);
  let fx: NixFixture;
  let sshd: TestSshd;
  let target: Target;
  let work: string;
  let previous: string;
  let next: string;
  let trial = 0;
  /** Trials that must end in a revert, and reverts seen (a trial that fails its checks records none). */
  let revertTrials = 0;
  const delays: Array<{ kind: string; observedMs: number; watchdogMs: number }> = [];

  before(async () => {
    [fx, sshd] = await Promise.all([
      buildFixture({ generations: 5, current: 4, activated: 4, booted: 4, missing: 0 }),
      startSshd(),
    ]);
    target = { kind: 'ssh', host: sshd.destination, port: sshd.port, sshArgs: sshd.clientArgs };
    work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-safeswitch-')));
    previous = fs.realpathSync(path.join(fx.runDir, 'current-system'));
    next = fs.realpathSync(`${fx.profile}-5-link`);
    assert.notEqual(previous, next);
  });

  after(async () => {
    await sshd?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
    if (delays.length > 0) {
      const worst = Math.max(...delays.map((d) => d.observedMs));
      const lines = delays.map(
        (d) => `  ${d.kind}: revert seen ${d.observedMs} ms after the deadline (watchdog ${d.watchdogMs} ms)`,
      );
      console.log(
        `\n  safe-switch deadline trials: ${revertTrials} run, ${delays.length} reverts observed and timed; ` +
          `worst time from deadline to revert: ${worst} ms (confirmSeconds ${CONFIRM_SECONDS})\n${lines.join('\n')}`,
      );
    }
  });

  /** Fresh state dir and STC log per trial; the options every switch uses. */
  function setup(expectRevert = true): { stateDir: string; log: string; options: Omit<SafeSwitchOptions, 'decide'> } {
    trial++;
    if (expectRevert) revertTrials++;
    const stateDir = path.join(work, `state-${trial}`);
    const log = path.join(work, `stc-${trial}.log`);
    return {
      stateDir,
      log,
      options: {
        target,
        toplevel: next,
        profile: fx.profile,
        runDir: fx.runDir,
        confirmSeconds: CONFIRM_SECONDS,
        stateDir,
        launcher: 'detached',
        pollMs: 200,
        env: { ...fx.nixVars, NIXOS_FIXTURE_STC_LOG: log },
      },
    };
  }

  /** The checks every revert must pass: previous system activated again with `test`, boot default untouched. */
  function assertReverted(calls: StcCall[], profileBefore: string): void {
    assert.deepEqual(
      calls.map((c) => [c.toplevel, c.action]),
      [
        [next, 'test'],
        [previous, 'test'],
      ],
      'the new system activated with test, then the previous one with test, nothing else',
    );
    assert.equal(fs.readlinkSync(fx.profile), profileBefore, 'the profile (boot default) was not touched');
  }

  function deadlineOf(events: readonly WatchdogEvent[]): number {
    const waiting = events.find((e) => e.event === 'waiting');
    assert.ok(waiting, `the watchdog reported its deadline: ${JSON.stringify(events)}`);
    return Number(waiting.detail);
  }

  function record(kind: string, calls: StcCall[], events: readonly WatchdogEvent[]): void {
    const deadline = deadlineOf(events);
    const reverted = events.find((e) => e.event === 'reverted');
    assert.ok(reverted, 'the watchdog reported the revert');
    const seen = calls[1]!.seenAt;
    assert.ok(reverted.at >= deadline, 'the watchdog did not revert before its deadline');
    delays.push({ kind, observedMs: seen - deadline, watchdogMs: reverted.at - deadline });
  }

  it('probes the target: systemd-run only where systemd runs, and builds the transient unit argv', async () => {
    const found = await probe(target);
    const systemdHere = fs.existsSync('/run/systemd/system') && fs.existsSync('/usr/bin/systemd-run');
    assert.equal(found.systemd, systemdHere);
    const argv = systemdRunArgv('abc-1', { NIX_STORE_DIR: '/x y' });
    assert.equal(argv[0], 'systemd-run');
    assert.ok(argv.includes('--unit=nixgen-safe-switch-abc-1'));
    assert.ok(argv.includes('--setenv=NIX_STORE_DIR=/x y'));
    assert.equal(argv[argv.length - 1], '--');
  });

  for (let i = 1; i <= TRIALS; i++) {
    it(`(a) never answered, trial ${i}: the target reverts by itself after the deadline`, async () => {
      const { log, options } = setup();
      const profileBefore = fs.readlinkSync(fx.profile);
      const watcher = new StcWatcher(log);
      let asked = false;
      const result = await safeSwitch({
        ...options,
        decide: () => {
          asked = true;
          return new Promise(() => undefined);
        },
      });
      watcher.stop();
      assert.ok(asked, 'the user was asked');
      assert.equal(result.outcome, 'reverted');
      assert.equal(result.ok, false, 'a revert is a failure');
      assert.match(result.reason, /not confirmed within 3 s/);
      assert.equal(result.previous, previous);
      assertReverted(watcher.calls, profileBefore);
      record('never answered', watcher.calls, result.events);
    });
  }

  /** Runs a safe switch in another node process that never answers; resolves once it is waiting for the answer. */
  async function clientProcess(
    options: Omit<SafeSwitchOptions, 'decide'>,
  ): Promise<{ child: ChildProcess; output: () => string; waiting: boolean }> {
    const moduleFile = require.resolve('../../src/core/safeswitch');
    const code = [
      `const ss = require(${JSON.stringify(moduleFile)});`,
      'const options = JSON.parse(process.argv[1]);',
      'ss.safeSwitch({ ...options, decide: () => new Promise(() => {}),',
      '  onProgress: (p) => process.stdout.write(JSON.stringify(p) + "\\n") })',
      '  .then((r) => process.stdout.write(JSON.stringify({ result: r }) + "\\n"));',
    ].join('\n');
    const child = spawn(process.execPath, ['-e', code, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const until = Date.now() + 30_000;
    while (Date.now() < until && !out.includes('"phase":"waiting"') && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return { child, output: () => out, waiting: out.includes('"phase":"waiting"') };
  }

  for (let i = 1; i <= TRIALS; i++) {
    it(`(b) the client process killed mid-countdown, trial ${i}: the target reverts by itself`, async () => {
      const { log, stateDir, options } = setup();
      const profileBefore = fs.readlinkSync(fx.profile);
      const watcher = new StcWatcher(log);
      const client = await clientProcess(options);
      assert.ok(client.waiting, `the client reached the countdown: ${client.output()}`);
      const exited = new Promise((r) => client.child.once('exit', r));
      client.child.kill('SIGKILL');
      await exited;
      const id = fs.readdirSync(stateDir).find((e) => e !== 'lock')!;
      assert.ok(
        await watcher.waitFor((c) => c.length >= 2, (CONFIRM_SECONDS + 30) * 1000),
        'the revert happened without the client',
      );
      watcher.stop();
      assertReverted(watcher.calls, profileBefore);
      const s = await status(target, id, { stateDir });
      record('client killed', watcher.calls, s.events);
      assert.equal(fs.existsSync(path.join(stateDir, 'lock')), false, 'the lock was released');
    });
  }

  it('(b) the network goes away before Keep: the confirmation cannot get through and the target reverts', async () => {
    const { log, options } = setup();
    const profileBefore = fs.readlinkSync(fx.profile);
    const watcher = new StcWatcher(log);
    let restarted: Promise<void> | undefined;
    const result = await safeSwitch({
      ...options,
      decide: async (ctx) => {
        await sshd.stopListener();
        // back after the deadline, so that the client can learn what happened
        restarted = new Promise<void>((resolve, reject) =>
          setTimeout(() => sshd.restartListener().then(resolve, reject), Math.max(0, ctx.deadline - Date.now()) + 1000),
        );
        return 'keep';
      },
    });
    await restarted;
    watcher.stop();
    assert.equal(result.outcome, 'reverted', result.reason);
    assert.equal(result.ok, false);
    assertReverted(watcher.calls, profileBefore);
    record('network gone at Keep', watcher.calls, result.events);
  });

  it('(b) the network goes away during the countdown and stays away: the target reverts, the client says it cannot tell', async () => {
    const { log, options } = setup();
    const profileBefore = fs.readlinkSync(fx.profile);
    const watcher = new StcWatcher(log);
    let result: SafeSwitchResult;
    try {
      result = await safeSwitch({
        ...options,
        graceMs: 2000,
        decide: () => {
          void sshd.stopListener();
          return new Promise(() => undefined);
        },
      });
    } finally {
      await sshd.restartListener();
    }
    assert.ok(await watcher.waitFor((c) => c.length >= 2, 10_000), 'the target reverted without anyone');
    watcher.stop();
    assert.equal(result.outcome, 'failed');
    assert.equal(result.ok, false);
    assert.match(result.reason, /cannot be reached; the outcome is unknown/);
    assertReverted(watcher.calls, profileBefore);
    const s = await status(target, result.id!, { stateDir: options.stateDir! });
    record('network gone for good', watcher.calls, s.events);
  });

  it('(d) a failing health check reverts at once, reported as a failure with the reason', async () => {
    const { log, options } = setup(false);
    const profileBefore = fs.readlinkSync(fx.profile);
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const watcher = new StcWatcher(log);
    const marker = path.join(work, 'healthy; $(touch pwned)');
    let asked = false;
    try {
      const result = await safeSwitch({
        ...options,
        confirmSeconds: 60,
        healthChecks: [
          { kind: 'url', url: `http://127.0.0.1:${port}/health` },
          {
            kind: 'command',
            command: `test -e '${marker.replace(/'/g, `'\\''`)}' || { printf '%s-%s \\\\'"'"'; $(touch pwned)' TARGET SAYS >&2; exit 1; }`,
          },
        ],
        decide: async () => {
          asked = true;
          return 'keep';
        },
      });
      watcher.stop();
      assert.equal(asked, false, 'the user was not offered to keep an unhealthy system');
      assert.equal(result.outcome, 'reverted');
      assert.equal(result.ok, false);
      assert.match(result.reason, /health check failed: command succeeds: test -e/);
      assert.match(result.reason, /TARGET-SAYS/, 'the check output is reported here');
      assert.ok(
        result.events.every((e) => !e.detail.includes('TARGET-SAYS')),
        `the check output never reached the elevated revert command on the target: ${JSON.stringify(result.events)}`,
      );
      assert.deepEqual(
        result.health.map((h) => h.ok),
        [true, false],
      );
      assertReverted(watcher.calls, profileBefore);
      const deadline = deadlineOf(result.events);
      assert.ok(result.events.find((e) => e.event === 'reverted')!.at < deadline, 'reverted before the 60 s deadline');
      assert.equal(fs.existsSync(path.join(path.dirname(marker), 'pwned')), false);
    } finally {
      server.close();
    }
  });

  it('(e) a second switch on the same target is refused while one is running', async () => {
    const { log, stateDir, options } = setup(false);
    const watcher = new StcWatcher(log);
    const first = await clientProcess(options);
    assert.ok(first.waiting, first.output());
    try {
      const second = await safeSwitch({ ...options, decide: async () => 'keep' });
      assert.equal(second.outcome, 'refused');
      assert.equal(second.ok, false);
      const firstId = fs.readFileSync(path.join(stateDir, 'lock', 'id'), 'utf8');
      assert.ok(second.reason.includes(firstId), `names the running switch: ${second.reason}`);
      // and within one process, without asking the target
      // A long window: this pair answers at once, and the answer, not a loaded machine's clock, must decide.
      const a = safeSwitch({
        ...options,
        confirmSeconds: 60,
        stateDir: path.join(work, 'other'),
        decide: async () => 'revert',
      });
      const b = await safeSwitch({ ...options, stateDir: path.join(work, 'other'), decide: async () => 'keep' });
      assert.equal(b.outcome, 'refused');
      assert.match(b.reason, /already running/);
      const ra = await a;
      assert.equal(ra.outcome, 'reverted');
      assert.match(ra.reason, /revert requested by the user/);
    } finally {
      first.child.kill('SIGKILL');
    }
    assert.ok(await watcher.waitFor((c) => c.filter((x) => x.toplevel === previous).length >= 1, 40_000));
    watcher.stop();
  });

  it('(c) confirmed over a fresh connection: the new system stays, becomes the boot default, the watchdog is gone', async () => {
    const { log, stateDir, options } = setup(false);
    const watcher = new StcWatcher(log);
    let result: SafeSwitchResult | undefined;
    try {
      result = await safeSwitch({ ...options, decide: async () => 'keep' });
      // stay past the deadline: nothing may revert
      const deadline = deadlineOf(result.events);
      await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now()) + 1500));
    } finally {
      watcher.stop();
    }
    assert.equal(result.outcome, 'kept', result.reason);
    assert.equal(result.ok, true);
    assert.deepEqual(
      watcher.calls.map((c) => [c.toplevel, c.action]),
      [
        [next, 'test'],
        [next, 'boot'],
      ],
    );
    assert.equal(fs.realpathSync(fx.profile), next, 'the profile (boot default) is the new system');
    assert.equal(
      fs.readlinkSync(fx.profile),
      `${path.basename(fx.profile)}-5-link`,
      'an existing generation becomes the boot default by number: no new generation (as Switch to This Generation)',
    );
    const pid = Number(result.events.find((e) => e.event === 'started')!.detail);
    assert.equal(pidAlive(pid), false, 'the watchdog is gone');
    assert.equal(fs.existsSync(path.join(stateDir, 'lock')), false, 'the lock was released');
    const s = await status(target, result.id!, { stateDir });
    const names = s.events.map((e) => e.event);
    assert.deepEqual(names.slice(0, 4), ['started', 'activating', 'waiting', 'confirmed']);
    assert.equal(names[names.length - 1], 'boot-default');
    assert.ok(!s.events.some((e) => e.event.startsWith('revert')), 'no revert happened');
  });

  /** A transition command that appends its phase, its words and how many activations ran before it to a file. */
  function recorder(file: string, phase: string, exit = 0): string[] {
    return [
      'sh',
      '-c',
      'f=$1; p=$2; rc=$3; shift 3; { printf "%s %s [%s]" "$p" "$(cat "$NIXOS_FIXTURE_STC_LOG" 2>/dev/null | wc -l)" "$*"; echo; } >> "$f"; exit "$rc"',
      'recorder',
      file,
      phase,
      String(exit),
      "it's $(touch pwned) `id` ${HOME}",
    ];
  }

  it('(f) transition commands: before runs ahead of the activation, after once active, revert after the revert', async () => {
    const { log, stateDir, options } = setup(false);
    const watcher = new StcWatcher(log);
    const file = path.join(work, 'transition-f.log');
    const result = await safeSwitch({
      ...options,
      confirmSeconds: 60,
      transition: {
        before: recorder(file, 'before'),
        after: recorder(file, 'after'),
        revert: recorder(file, 'revert'),
        timeoutSeconds: 60,
      },
      decide: async () => 'revert',
    });
    watcher.stop();
    assert.equal(result.outcome, 'reverted', result.reason);
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    const words = "[it's $(touch pwned) `id` ${HOME}]";
    assert.deepEqual(lines, [`before 0 ${words}`, `after 1 ${words}`, `revert 2 ${words}`]);
    assert.deepEqual(
      watcher.calls.map((c) => [c.toplevel, c.action]),
      [
        [next, 'test'],
        [previous, 'test'],
      ],
    );
    assert.equal(fs.existsSync(path.join(work, 'pwned')), false);
    const names = (await status(target, result.id!, { stateDir })).events.map((e) => e.event);
    assert.deepEqual(names, [
      'started',
      'transition-running',
      'transition-done',
      'activating',
      'transition-running',
      'transition-done',
      'waiting',
      'reverting',
      'reverted',
      'transition-reverted',
    ]);
  });

  it('(g) a failing transition before the activation: the new system is never activated, the revert command runs', async () => {
    const { log, options } = setup(false);
    const profileBefore = fs.readlinkSync(fx.profile);
    const watcher = new StcWatcher(log);
    const file = path.join(work, 'transition-g.log');
    let asked = false;
    const result = await safeSwitch({
      ...options,
      transition: {
        before: recorder(file, 'before', 3),
        after: recorder(file, 'after'),
        revert: recorder(file, 'revert'),
        timeoutSeconds: 60,
      },
      decide: async () => {
        asked = true;
        return 'keep';
      },
    });
    watcher.stop();
    assert.equal(asked, false, 'nobody is asked to keep a system whose transition failed');
    assert.equal(result.outcome, 'reverted');
    assert.match(result.reason, /transition before activation failed \(exit 3\)/);
    assert.ok(
      watcher.calls.every((c) => c.toplevel !== next),
      `the new system was never activated: ${JSON.stringify(watcher.calls)}`,
    );
    assert.deepEqual(
      fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0]),
      ['before', 'revert'],
    );
    assert.equal(fs.readlinkSync(fx.profile), profileBefore, 'the boot default was not touched');
  });
});
