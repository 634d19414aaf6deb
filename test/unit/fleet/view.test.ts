/**
 * The fleet's view data: what a machine's row says (reading, up to date, unreachable with the reason and when it was
 * last seen), the last-seen record kept between sessions (bounded, hostile values dropped), and the summary row.
 * Real listings of real machines are in test/integration/fleet-view.test.ts.
 */
import assert from 'node:assert/strict';
import type { FleetMachine } from '../../../src/core/fleet/machines';
import type { RemoteListing } from '../../../src/core/fleet/remote-list';
import {
  describeMachine,
  fleetMachineKey,
  fleetSummaryOf,
  LAST_SEEN_MAX,
  machineFromListing,
  parseLastSeen,
  pendingMachine,
  readFleetMachine,
  updateLastSeen,
} from '../../../src/core/fleet/view';
import type { ProfileListing } from '../../../src/core/generations/types';

const web: FleetMachine = { name: 'web', destination: 'root@web', source: 'setting' };
const now = new Date('2026-01-02T12:00:00Z');
const hourAgo = now.getTime() - 3600_000;

const listingOf = (): ProfileListing =>
  ({ profile: { path: '/nix/var/nix/profiles/system', name: 'system', kind: 'system' }, generations: [] }) as never;

describe('fleet: the view of the machines', () => {
  it('keys machines by destination (with a non-default port) and keeps targetless ones apart', () => {
    assert.equal(fleetMachineKey(web), 'ssh:root@web');
    assert.equal(fleetMachineKey({ ...web, port: 2222 }), 'ssh:root@web:2222');
    assert.equal(
      fleetMachineKey({ name: 'nas', destination: null, source: 'nixosConfigurations' }),
      'ssh:nas (no target)',
    );
  });

  it('shows a machine being read with what it ran before, and one without a target with the reason', () => {
    const pending = pendingMachine(web, undefined, { 'ssh:root@web': { at: hourAgo, hostname: 'web-1' } });
    assert.equal(pending.remote!.status, 'loading');
    assert.equal(pending.remote!.lastSeen, hourAgo);
    assert.equal(pending.remote!.hostname, 'web-1');
    assert.equal(describeMachine(pending.remote!, now), 'reading…');
    const none = pendingMachine(
      { name: 'nas', destination: null, source: 'nixosConfigurations', problem: 'no ssh target: add it' },
      undefined,
    );
    assert.equal(none.remote!.status, 'no-target');
    assert.equal(describeMachine(none.remote!, now), 'no ssh target: add it');
  });

  it('says why a machine is unreachable and when it was last seen, keeping what it listed before', () => {
    const before = machineFromListing(
      web,
      {
        host: 'root@web',
        listing: listingOf(),
        reboot: null,
        facts: { hostname: 'web-1', machineId: null, activated: null, booted: null },
        problem: null,
        at: hourAgo,
        elapsedMs: 5,
      },
      { kind: 'up-to-date', revision: 'a'.repeat(40) },
      undefined,
    );
    assert.equal(describeMachine(before.remote!, now), 'up to date');
    const failed: RemoteListing = {
      host: 'root@web',
      listing: null,
      reboot: null,
      facts: null,
      problem: { kind: 'timeout', message: 'no answer within 20 s' },
      at: now.getTime(),
      elapsedMs: 20_000,
    };
    const after = machineFromListing(web, failed, { kind: 'unknown', why: 'unreachable' }, before);
    assert.equal(after.remote!.status, 'unreachable');
    assert.equal(after.remote!.unreachable!.kind, 'timeout');
    assert.equal(describeMachine(after.remote!, now), 'unreachable (no answer within 20 s) · last seen 1 hour ago');
    assert.equal(after.listings.length, 1, 'what was read before stays shown');
    const never = machineFromListing(web, failed, { kind: 'unknown', why: 'unreachable' }, undefined);
    assert.match(describeMachine(never.remote!, now), /· never seen$/);
  });

  it('keeps the last-seen record bounded and drops what is not a time', () => {
    assert.deepEqual(parseLastSeen({ a: { at: 5, hostname: 'x' }, b: { at: 'yesterday' }, c: null, d: { at: -1 } }), {
      a: { at: 5, hostname: 'x' },
    });
    assert.deepEqual(parseLastSeen('junk'), {});
    const many: Record<string, { at: number; hostname: null }> = {};
    for (let i = 1; i <= LAST_SEEN_MAX + 50; i++) many[`ssh:h${i}`] = { at: i, hostname: null };
    const seen = machineFromListing(
      web,
      { host: 'root@web', listing: listingOf(), reboot: null, facts: null, problem: null, at: 10 ** 12, elapsedMs: 1 },
      { kind: 'dirty' },
      undefined,
    );
    const next = updateLastSeen(parseLastSeen(many), [seen]);
    assert.equal(Object.keys(next).length, LAST_SEEN_MAX);
    assert.deepEqual(next['ssh:root@web'], { at: 10 ** 12, hostname: null });
  });

  it('summarises the fleet, counting machines still being read apart', () => {
    const up = pendingMachine(web, undefined);
    up.remote = { ...up.remote!, status: 'reachable', drift: { kind: 'up-to-date', revision: 'a'.repeat(40) } };
    const behind = pendingMachine({ ...web, destination: 'root@db' }, undefined);
    behind.remote = {
      ...behind.remote!,
      status: 'reachable',
      drift: { kind: 'behind', revision: 'b'.repeat(40), commits: 3 },
    };
    const reading = pendingMachine({ ...web, destination: 'root@x' }, undefined);
    assert.equal(
      fleetSummaryOf([up, behind, reading]),
      '2 machines: 1 up to date, 1 3 commits behind; 1 still reading',
    );
    assert.equal(fleetSummaryOf([reading]), '1 machine: reading…');
    assert.equal(fleetSummaryOf([]), null);
  });

  it('reads a machine without a target without any ssh call', async () => {
    const data = await readFleetMachine(
      { name: 'nas', destination: null, source: 'nixosConfigurations', problem: 'no ssh target' },
      undefined,
    );
    assert.equal(data.remote!.status, 'no-target');
    assert.deepEqual(data.listings, []);
  });
});
