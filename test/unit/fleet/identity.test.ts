import assert from 'node:assert/strict';
import { checkIdentity, hostOfSystemName, systemHost } from '../../../src/core/fleet/identity';

const H = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz';
describe('fleet: identity guard', () => {
  it('reads the host from a toplevel name, with and without the label', () => {
    assert.equal(hostOfSystemName(`${H}-nixos-system-web-1-24.11.20241201.abcdef0`, '24.11.20241201.abcdef0'), 'web-1');
    assert.equal(hostOfSystemName(`${H}-nixos-system-web-1-24.11.20241201.abcdef0`), 'web-1');
    assert.equal(hostOfSystemName(`${H}-nixos-system-db-git-1a2b3c4-24.05.20240601.0011223`), 'db');
    assert.equal(hostOfSystemName(`${H}-nixos-system-mail-my-label`, 'my-label'), 'mail');
    assert.equal(hostOfSystemName(`${H}-nixos-system-mail-my-label`), null, 'a custom label without its file: unknown');
    assert.equal(hostOfSystemName(`${H}-home-manager-generation`), null);
  });

  it("prefers the system's etc/hostname to its name", () => {
    assert.equal(systemHost({ storePath: `${H}-nixos-system-a-24.11.1.x`, etcHostname: 'b\n' }), 'b');
  });

  const machine = (hostname: string | null, current: string | null, machineId: string | null = null) => ({
    target: 'root@10.0.0.2',
    hostname,
    machineId,
    current: current ? { storePath: `${H}-nixos-system-${current}-24.11.20241201.abcdef0` } : null,
  });
  const system = (host: string, machineId: string | null = null) => ({
    storePath: `${H}-nixos-system-${host}-24.11.20241201.abcdef0`,
    label: '24.11.20241201.abcdef0',
    machineId,
  });

  it('lets a system onto its own machine', () => {
    assert.equal(checkIdentity(system('web'), machine('web', 'web')).status, 'match');
    assert.equal(checkIdentity(system('web'), machine(null, 'web')).status, 'match');
  });

  it("refuses A's system on B, naming both, unless a rename is confirmed", () => {
    const v = checkIdentity(system('alpha'), machine('beta', 'beta'));
    assert.equal(v.status, 'mismatch');
    assert.match(v.message, /built for host "alpha"/);
    assert.match(v.message, /which is "beta"/);
    assert.match(v.message, /--allow-rename/);
    const r = checkIdentity(system('alpha'), machine('beta', 'beta'), true);
    assert.equal(r.status, 'rename-confirmed');
  });

  it('/etc/hostname wins over the running system (a machine renamed by hand)', () => {
    assert.equal(checkIdentity(system('new'), machine('new', 'old')).status, 'match');
    assert.equal(checkIdentity(system('old'), machine('new', 'old')).status, 'mismatch');
  });

  it('a recorded machine-id that differs is refused even with a rename', () => {
    const v = checkIdentity(system('web', 'a'.repeat(32)), machine('web', 'web', 'b'.repeat(32)), true);
    assert.equal(v.status, 'mismatch');
    assert.match(v.message, /machine-id/);
    assert.equal(checkIdentity(system('web', 'a'.repeat(32)), machine('web', 'web', 'a'.repeat(32))).status, 'match');
  });

  it('says so when it cannot tell', () => {
    assert.equal(checkIdentity({ storePath: `${H}-something` }, machine('web', 'web')).status, 'unknown');
    assert.equal(checkIdentity(system('web'), machine(null, null)).status, 'unknown');
  });
});
