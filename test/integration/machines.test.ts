/**
 * The test machines themselves: three real systemd machines boot side by side, each with its own system profile of
 * NixOS-shaped generations from the fleet fixture, its own host name, machine-id and address, reachable over ssh;
 * and a fixture system that declares no address really cuts its machine off when activated (what the fleet tests
 * rely on), while activating the previous one from inside brings it back.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildFleetSystems, fleetBinds, installFleetProfile, makeFleetProfile } from '../lib/fleet';
import { bootMachines, stopMachines, type Machine } from '../lib/machines';

describe('test machines (systemd-nspawn)', function () {
  this.timeout(180_000);
  const names = ['alpha', 'beta', 'gamma'];
  let machines: Machine[] = [];
  let work = '';
  const systems: Record<string, string[]> = {};

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-machines-'));
    const specs = names.flatMap((host, i) => [
      { host, n: 1, release: '24.05' as const, address: `10.99.${i + 1}.2/24` },
      { host, n: 2, address: `10.99.${i + 1}.2/24`, rev: 'a'.repeat(40) },
      { host, n: 3, address: null, rev: 'b'.repeat(40) },
    ]);
    const paths = buildFleetSystems(specs);
    names.forEach((host, i) => {
      systems[host] = paths.slice(i * 3, i * 3 + 3);
      // generations 1 and 2 in the profile; 3 (no address) is only built
      makeFleetProfile(path.join(work, host), systems[host]!.slice(0, 2));
    });
    machines = await bootMachines(
      names.map((name, i) => ({ name, idx: i + 1, binds: fleetBinds(path.join(work, name)) })),
    );
    for (const m of machines) await installFleetProfile(m);
  });

  after(async () => {
    await stopMachines(machines);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('boots each machine with systemd as PID 1, its own name, machine-id and profile', async () => {
    const seen = new Set<string>();
    for (const m of machines) {
      const r = await m.run(
        'cat /proc/1/comm; hostname; cat /etc/machine-id; readlink /run/current-system; systemctl is-system-running --wait',
      );
      const [comm, host, id, current, state] = r.stdout.trim().split('\n');
      assert.equal(comm, 'systemd');
      assert.equal(host, m.name);
      assert.match(id!, /^[0-9a-f]{32}$/);
      seen.add(id!);
      assert.equal(current, systems[m.name]![1]);
      assert.ok(state === 'running' || state === 'degraded', `${m.name}: ${state}`);
    }
    assert.equal(seen.size, machines.length, 'every machine has its own machine-id');
  });

  it('a system without an address cuts its machine off; the previous system brings it back', async () => {
    const m = machines[1]!;
    const [, good, cut] = [undefined, systems[m.name]![1]!, systems[m.name]![2]!];
    // activated in the background on the machine, as a deploy would: the ssh session itself is cut
    await m.run(`setsid sh -c 'sleep 0.3; "$1/bin/switch-to-configuration" test' sh "$1" >/dev/null 2>&1 &`, [cut]);
    const until = Date.now() + 10_000;
    while (Date.now() < until && (await m.reachable(1000))) await new Promise((r) => setTimeout(r, 200));
    assert.equal(await m.reachable(1000), false, 'the machine must be unreachable after losing its address');
    // only from inside the machine's own namespace can the previous system be put back here
    const inside = spawnSync('ip', ['netns', 'exec', m.name, 'ip', '-4', 'addr', 'show', 'dev', 'host0'], {
      encoding: 'utf8',
    });
    // systemd-networkd may add a link-local address: what matters is that the machine's own address is gone
    assert.doesNotMatch(inside.stdout, /inet 10\.99\./);
    const pid = fs
      .readFileSync(path.join(process.env.TMPDIR ?? '/tmp', `nixgen-machine-${m.name}`, 'pid'), 'utf8')
      .trim();
    const leader = spawnSync('pgrep', ['-P', pid], { encoding: 'utf8' }).stdout.trim().split('\n')[0]!;
    const back = spawnSync('nsenter', ['-t', leader, '-a', `${good}/bin/switch-to-configuration`, 'test'], {
      encoding: 'utf8',
    });
    assert.equal(back.status, 0, back.stderr);
    assert.equal(await m.reachable(5000), true);
    const r = await m.run('readlink /run/current-system');
    assert.equal(r.stdout.trim(), good);
  });
});
