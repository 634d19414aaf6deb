import assert from 'node:assert/strict';
import { GenerationsStore, LOCAL_MACHINE, machineKey, type StoreChange } from '../../../src/core/model/store';
import { gen, systemListingOf } from '../../lib/samples';

describe('GenerationsStore', () => {
  const listing = () => systemListingOf([gen(1), gen(2, { activated: true, current: true })]);

  it('is empty before the first load, then answers per machine', () => {
    const store = new GenerationsStore();
    assert.equal(store.loaded(), false);
    assert.deepEqual(store.listings(), []);
    assert.equal(store.activated(), undefined);
    store.set({ machine: LOCAL_MACHINE, listings: [listing()], reboot: undefined });
    assert.equal(store.loaded(), true);
    assert.equal(store.activated()?.generation.generation, 2);
    assert.equal(store.generation('/nix/var/nix/profiles/system', 1)?.generation, 1);
    assert.deepEqual(store.listings(machineKey('admin@far')), []);
  });

  it('keys remote machines by host, this machine first', () => {
    const store = new GenerationsStore();
    assert.equal(machineKey(''), LOCAL_MACHINE);
    assert.equal(machineKey(' admin@far '), 'ssh:admin@far');
    store.set({ machine: machineKey('b'), listings: [], reboot: undefined });
    store.set({ machine: LOCAL_MACHINE, listings: [listing()], reboot: undefined });
    assert.deepEqual(store.machineKeys(), [LOCAL_MACHINE, 'ssh:b']);
    store.delete('ssh:b');
    assert.deepEqual(store.machineKeys(), [LOCAL_MACHINE]);
  });

  it('details replace generations and listings instead of editing them, and fire once', () => {
    const store = new GenerationsStore();
    const before = listing();
    store.set({ machine: LOCAL_MACHINE, listings: [before], reboot: undefined });
    const changes: StoreChange[] = [];
    const sub = store.onDidChange((c) => changes.push(c));
    const n = store.patchGenerations(LOCAL_MACHINE, (g) => (g.generation === 1 ? { closureSize: 42 } : undefined));
    assert.equal(n, 1);
    assert.equal(store.generation(before.profile.path, 1)?.closureSize, 42);
    assert.equal(before.generations[0]!.closureSize, null, 'the earlier listing is untouched');
    assert.equal(store.listings()[0]!.generations[1], before.generations[1], 'unchanged generations are kept');
    assert.equal(store.patchGenerations(LOCAL_MACHINE, () => ({ closureSize: 42 })) > 0, true);
    assert.equal(
      store.patchGenerations(LOCAL_MACHINE, (g) => ({ closureSize: g.closureSize })),
      0,
    );
    assert.deepEqual(changes, [
      { machine: LOCAL_MACHINE, kind: 'details' },
      { machine: LOCAL_MACHINE, kind: 'details' },
    ]);
    sub.dispose();
    store.set({ machine: LOCAL_MACHINE, listings: [], reboot: undefined });
    assert.equal(changes.length, 2, 'no events after dispose');
  });

  it('a failing listener does not keep the others from hearing', () => {
    const store = new GenerationsStore();
    let heard = 0;
    store.onDidChange(() => {
      throw new Error('boom');
    });
    store.onDidChange(() => heard++);
    store.set({ machine: LOCAL_MACHINE, listings: [], reboot: undefined });
    assert.equal(heard, 1);
  });
});
