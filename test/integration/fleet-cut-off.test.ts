/**
 * Changes that cut you off, on a real machine (systemd as PID 1, sshd, its own address) with the fleet fixture
 * systems, whose activation really sets the address and sshd:
 *   - `diff --target-host` names the address a new system removes, and `sshd is turned off`, from the two etc trees
 *     (the running one read over ssh), in its text (first) and its JSON;
 *   - a plain `switch` of a system that removes the machine's address becomes a safe switch by itself: the machine
 *     is lost, puts the previous system back, and ssh reaches it again;
 *   - `--action test` of such a system is refused; `--switch-anyway` switches without safe switch.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { GenerationDiff } from '../../src/core/diff';
import { runProcess, type RunResult } from '../../src/core/exec/process';
import { buildFleetSystems, fleetBinds, installFleetProfile, makeFleetProfile } from '../lib/fleet';
import { bootMachines, PROJECT_ROOT, stopMachines, type Machine } from '../lib/machines';

const CLI = path.join(PROJECT_ROOT, 'out', 'src', 'cli', 'main.js');
const IDX = 25;

describe('changes that cut you off, on a real machine', function () {
  this.timeout(600_000);
  let machine: Machine;
  let work = '';
  let sys: { g1: string; g2: string; noAddress: string; noSshd: string; port: string };

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-fleet-cut-'));
    const host = 'cut';
    const address = `10.99.${IDX}.2/24`;
    const [g1, g2, noAddress, noSshd, port] = buildFleetSystems([
      { host, n: 1, address, rev: 'a'.repeat(40) },
      { host, n: 2, address, rev: 'b'.repeat(40) },
      { host, n: 3, address: null, rev: 'c'.repeat(40) },
      { host, n: 4, address, sshd: false, rev: 'd'.repeat(40) },
      { host, n: 5, address, sshPort: 2222, rev: 'e'.repeat(40) },
    ]) as [string, string, string, string, string];
    sys = { g1, g2, noAddress, noSshd, port };
    // generation 2 moves sshd to port 2222; generation 3 runs
    makeFleetProfile(path.join(work, host), [g1, port, g2]);
    [machine] = (await bootMachines([{ name: host, idx: IDX, binds: fleetBinds(path.join(work, host)) }])) as [Machine];
    await installFleetProfile(machine);
  });

  after(async () => {
    if (machine) await stopMachines([machine]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const cli = (args: string[]): Promise<RunResult> =>
    runProcess([process.execPath, CLI, ...args, '--target-host', machine.destination], {
      env: { NIX_SSHOPTS: machine.sshOpts },
      timeoutMs: 300_000,
    });
  const current = async (): Promise<string> => (await machine.run('readlink /run/current-system')).stdout.trim();

  it('diff --target-host names what cuts you off, first, in text and JSON', async () => {
    let r = await cli(['diff', sys.noAddress]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /may cut you off/);
    assert.match(r.stdout, new RegExp(`\\[cut off\\] address 10\\.99\\.${IDX}\\.2/24 removed from host0`));
    assert.ok(r.stdout.indexOf('cut you off') < r.stdout.indexOf('Closure size'));
    r = await cli(['diff', sys.noSshd, '--json']);
    assert.equal(r.exitCode, 0, r.stderr);
    const diff = JSON.parse(r.stdout) as GenerationDiff;
    assert.deepEqual(diff.reach, [
      { subject: 'sshd', cutsOff: true, message: 'sshd is turned off (no /etc/ssh/sshd_config any more)' },
    ]);
    r = await cli(['diff', sys.g1, '--json']);
    assert.deepEqual((JSON.parse(r.stdout) as GenerationDiff).reach, [], 'the same address and sshd: nothing');
    r = await cli(['diff', sys.port]);
    assert.match(r.stdout, /\[cut off\] sshd moves from port 22 to 2222/);
  });

  it('a plain switch that removes the address becomes a safe switch: lost, reverted, reachable again', async () => {
    const before = await current();
    const r = await cli(['switch', sys.noAddress, '--confirm-seconds', '4']);
    assert.equal(r.exitCode, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /may cut you off from root@10\.99\.25\.2, so this switch is a safe switch/);
    assert.match(r.stderr, /- address 10\.99\.25\.2\/24 removed from host0/);
    assert.match(r.stderr, /reverted/);
    let back = false;
    for (const until = Date.now() + 15_000; !back && Date.now() < until;) {
      back = await machine.reachable(3_000);
      if (!back) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.equal(back, true, 'the machine is reachable again');
    assert.equal(await current(), before, 'the previous system runs again');
  });

  it('refuses a plain test of it; --switch-anyway switches without safe switch', async () => {
    const before = await current();
    let r = await cli(['switch', '2', '--action', 'test']);
    assert.equal(r.exitCode, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /sshd moves from port 22 to 2222[^]*use --safe .* or --switch-anyway/);
    assert.equal(await current(), before, 'nothing was activated');
    // generation 1 differs from the running one only in its revision: no question, a plain switch
    r = await cli(['switch', '1']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /cut you off/);
    assert.equal(await current(), sys.g1);
    // (this machine's sshd is socket-activated on port 22, so the fixture's Port 2222 does not really move it)
    r = await cli(['switch', '2', '--action', 'test', '--switch-anyway']);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /without safe switch as asked[^]*sshd moves from port 22 to 2222/);
    assert.equal(await current(), sys.port);
  });
});
