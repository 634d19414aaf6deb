/**
 * switch, rollback and safe switch over ssh on real machines (systemd as PID 1, sshd, their own addresses), with the
 * fleet fixture systems whose activation really sets the address and sshd:
 *   - the identity guard refuses machine A's system on machine B, naming both, and B keeps running its own;
 *   - a plain switch by generation number and a rollback change what the machine runs and its boot default;
 *   - a safe switch runs its watchdog through systemd-run (a transient unit) for real and is kept when healthy;
 *   - a system that removes the machine's address, and one that stops sshd: the safe switch loses the machine, the
 *     machine puts the previous system back by itself, and ssh reaches it again. NIXGEN_FLEET_TRIALS trials of each
 *     (default 2; bench/fleet-faults.sh runs the 20-trial campaign), every revert within the deadline.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess, type RunResult } from '../../src/core/exec/process';
import { newSwitchId, start, status } from '../../src/core/safeswitch';
import { buildFleetSystems, fleetBinds, installFleetProfile, makeFleetProfile } from '../lib/fleet';
import { bootMachines, PROJECT_ROOT, stopMachines, type Machine } from '../lib/machines';

const CLI = path.join(PROJECT_ROOT, 'out', 'src', 'cli', 'main.js');
const TRIALS = Number(process.env.NIXGEN_FLEET_TRIALS ?? 2);
const CONFIRM_SECONDS = 4;

describe('switch, rollback and safe switch on real machines', function () {
  this.timeout(600_000 + TRIALS * 120_000);
  const names = ['swa', 'swb', 'swc'];
  let machines: Machine[] = [];
  let work = '';
  const sys: Record<string, { g1: string; g2: string; good: string; noAddress: string; noSshd: string }> = {};

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-fleet-switch-'));
    const specs = names.flatMap((host, i) => {
      const address = `10.99.${i + 21}.2/24`;
      return [
        { host, n: 1, release: '24.05' as const, address, rev: 'a'.repeat(40) },
        { host, n: 2, address, rev: 'b'.repeat(40) },
        { host, n: 3, address, rev: 'c'.repeat(40) },
        { host, n: 4, address: null, rev: 'd'.repeat(40) },
        { host, n: 5, address, sshd: false, rev: 'e'.repeat(40) },
      ];
    });
    const paths = buildFleetSystems(specs);
    names.forEach((host, i) => {
      const [g1, g2, good, noAddress, noSshd] = paths.slice(i * 5, i * 5 + 5) as [
        string,
        string,
        string,
        string,
        string,
      ];
      sys[host] = { g1, g2, good, noAddress, noSshd };
      makeFleetProfile(path.join(work, host), [g1, g2]);
    });
    machines = await bootMachines(
      names.map((name, i) => ({ name, idx: i + 21, binds: fleetBinds(path.join(work, name)) })),
    );
    for (const m of machines) await installFleetProfile(m);
  });

  after(async () => {
    await stopMachines(machines);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const cli = (m: Machine, args: string[]): Promise<RunResult> =>
    runProcess([process.execPath, CLI, ...args, '--target-host', m.destination], {
      env: { NIX_SSHOPTS: m.sshOpts },
      timeoutMs: 300_000,
    });
  const running = async (m: Machine): Promise<{ current: string; profile: string }> => {
    const r = await m.run('readlink /run/current-system; readlink -f /nix/var/nix/profiles/system');
    const [current = '', profile = ''] = r.stdout.trim().split('\n');
    return { current, profile };
  };

  it("refuses machine A's system on machine B, naming both; B keeps its own", async () => {
    const [a, b] = [machines[0]!, machines[1]!];
    const before = await running(b);
    const r = await cli(b, ['switch', sys[a.name]!.g2, '--safe', '--confirm-seconds', '5']);
    assert.equal(r.exitCode, 3, r.stderr + r.stdout);
    assert.match(r.stderr, /refusing to activate a system built for host "swa"/);
    assert.match(r.stderr, /which is "swb": \/etc\/hostname says "swb"/);
    assert.match(r.stderr, /--allow-rename/);
    assert.deepEqual(await running(b), before);
    // a plain switch by path is guarded the same way
    const plain = await cli(b, ['switch', sys[a.name]!.g1]);
    assert.equal(plain.exitCode, 3, plain.stderr);
    assert.deepEqual(await running(b), before);
  });

  it('switches to a generation by number and rolls back', async () => {
    const m = machines[0]!;
    const s = sys[m.name]!;
    let r = await cli(m, ['switch', '1']);
    assert.equal(r.exitCode, 0, r.stderr + r.stdout);
    assert.deepEqual(await running(m), { current: s.g1, profile: s.g1 });
    r = await cli(m, ['switch', '2', '--action', 'test']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(await running(m), { current: s.g2, profile: s.g1 }, 'test: the boot default stays');
    r = await cli(m, ['switch', '2']);
    assert.equal(r.exitCode, 0, r.stderr);
    r = await cli(m, ['rollback']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(await running(m), { current: s.g1, profile: s.g1 });
  });

  it('safe switch through systemd-run: healthy, kept, made the boot default', async () => {
    const m = machines[2]!;
    const s = sys[m.name]!;
    const r = await cli(m, [
      'switch',
      s.good,
      '--safe',
      '--confirm-seconds',
      String(CONFIRM_SECONDS),
      '--health-check',
      'unit:ssh.socket',
      '--health-check',
      'test -d /run/current-system/etc',
    ]);
    assert.equal(r.exitCode, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /watchdog: systemd/);
    assert.match(r.stdout, /^deadline: \d{4}-\d\d-\d\dT/m);
    assert.match(r.stdout, /health: ok unit ssh\.socket is active/);
    assert.deepEqual(await running(m), { current: s.good, profile: s.good });
    // the watchdog ran as a transient unit of the machine's systemd, and is gone now (--collect)
    const units = await m.run('journalctl -q --no-pager -o cat _PID=1 | grep -c "nixgen-safe-switch" || true');
    assert.ok(Number(units.stdout.trim()) > 0, 'systemd started the watchdog unit');
  });

  it('the watchdog unit killed mid-wait: the backstop timer (AccuracySec=100ms) puts the previous system back', async () => {
    const m = machines[1]!;
    const s = sys[m.name]!;
    const before = await running(m);
    const target = { kind: 'ssh' as const, host: m.destination, sshArgs: m.sshArgs };
    const confirmSeconds = 15;
    const activateTimeoutSeconds = 4;
    const started = await start(target, {
      id: newSwitchId(),
      toplevel: s.good,
      confirmSeconds,
      activateTimeoutSeconds,
      launcher: 'systemd',
    });
    assert.ok(started.ok, JSON.stringify(started));
    assert.equal(started.launcher, 'systemd');
    assert.equal(started.backstop, true);
    const armedAt = Date.now();
    const unit = `nixgen-safe-switch-${started.id}`;
    const timer = await m.run(`systemctl show -p AccuracyUSec --value "$1-backstop.timer"`, [unit]);
    assert.equal(timer.stdout.trim(), '100ms');
    // wait for the activation, then kill the watchdog as a crash would
    const until = Date.now() + 20_000;
    while (Date.now() < until && !(await status(target, started.id)).events.some((e) => e.event === 'waiting')) {
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal((await running(m)).current, s.good, 'the new system is active');
    const killed = await m.run(`systemctl kill --signal=KILL "$1.service"`, [unit]);
    assert.equal(killed.exitCode, 0, killed.stderr);
    const fireAt = armedAt + (confirmSeconds + activateTimeoutSeconds + 10) * 1000;
    let events = (await status(target, started.id)).events;
    while (Date.now() < fireAt + 15_000 && !events.some((e) => e.event === 'reverted')) {
      await new Promise((r) => setTimeout(r, 250));
      events = (await status(target, started.id)).events;
    }
    const reverted = events.find((e) => e.event === 'reverted');
    assert.ok(reverted, JSON.stringify(events));
    assert.match(reverted.detail, /backstop timer/);
    assert.deepEqual(await running(m), before);
    // armed at start + SECS + ACTTIMEOUT + 10 s on the machine's clock: fired within a second of it, not a minute
    const startedEv = events.find((e) => e.event === 'started')!;
    const late = reverted.at - (startedEv.at + (confirmSeconds + activateTimeoutSeconds + 10) * 1000);
    console.log(`      backstop reverted ${late} ms after its time`);
    assert.ok(late < 3_000, `the backstop fired ${late} ms late`);
  });

  for (const fault of ['noAddress', 'noSshd'] as const) {
    it(`${fault === 'noAddress' ? 'a system that removes the address' : 'a system that stops sshd'}: the machine reverts by itself, ${TRIALS} trial(s)`, async () => {
      const m = machines[2]!;
      const s = sys[m.name]!;
      const lateness: number[] = [];
      for (let trial = 0; trial < TRIALS; trial++) {
        const before = await running(m);
        const r = await cli(m, ['switch', s[fault], '--safe', '--confirm-seconds', String(CONFIRM_SECONDS)]);
        assert.equal(r.exitCode, 1, `trial ${trial}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /reverted/);
        // the machine reverted; ssh may refuse for a moment while the socket comes back: try for up to 15 s
        let back = false;
        for (const until = Date.now() + 15_000; !back && Date.now() < until;) {
          back = await m.reachable(3_000);
          if (!back) await new Promise((resolve) => setTimeout(resolve, 500));
        }
        assert.equal(back, true, `trial ${trial}: the machine is reachable again (${r.stderr.trim()})`);
        assert.deepEqual(
          await running(m),
          before,
          `trial ${trial}: the previous system runs and stays the boot default`,
        );
        // the watchdog's own record: deadline and revert, on the machine's clock
        const ev = await m.run(
          'd=/run/nixos-generations/safe-switch; id=$(ls -t "$d" | grep -v lock | head -n 1); cat "$d/$id/events"',
        );
        const events = ev.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(' '));
        const deadline = Number(events.find((e) => e[1] === 'waiting')?.[2]);
        const reverted = Number(events.find((e) => e[1] === 'reverted')?.[0]);
        assert.ok(deadline > 0 && reverted > 0, ev.stdout);
        lateness.push(reverted - deadline);
        assert.ok(reverted - deadline < 5_000, `trial ${trial}: reverted ${reverted - deadline} ms after the deadline`);
      }
      console.log(
        `      ${fault}: ${TRIALS} trials, revert after the deadline: ${lateness.map((x) => `${x} ms`).join(', ')}`,
      );
    });
  }
});
