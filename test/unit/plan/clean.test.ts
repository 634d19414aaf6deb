import assert from 'node:assert/strict';
import { CLEAN_SCRIPT, planClean } from '../../../src/core/deploy/clean';
import { describeGenerations, keptAlive, nothingToDelete, planDeletion } from '../../../src/core/plan/clean';
import { facts, gen, systemListingOf } from '../../lib/samples';

const listing = systemListingOf([gen(1), gen(2, { booted: true }), gen(3), gen(4, { current: true, activated: true })]);
const selection = planClean(listing.profile.path, listing.generations, { kind: 'keep', keep: 1 });
const input = {
  listing,
  selection,
  freed: { bytes: 3 * 1024 * 1024, paths: 7, storePaths: [], upperBound: false },
  nixEnv: '/bin/nix-env',
  nixStore: '/bin/nix-store',
  isSystem: true,
  writable: false,
  elevation: 'sudo' as const,
  facts: facts(false, 'sudo'),
};

describe('planDeletion', () => {
  it('asks with what goes, what stays, what is protected, the space and the command', () => {
    const plan = planDeletion(input);
    assert.equal(plan.confirm.message, 'Delete 2 generations of system?');
    assert.equal(plan.confirm.action, 'Delete');
    const lines = plan.confirm.detail.split('\n');
    assert.equal(lines[1], 'Delete: 1, 3.');
    assert.equal(lines[2], 'Keep: 2 (booted), 4 (activated, boot default).');
    assert.equal(lines[3], 'Never deleted: 2 (booted).');
    assert.match(lines[4]!, /^Frees: 3(\.0)? MiB \(7 store paths only these generations use\)\./);
    assert.match(lines[5]!, /boot entries are refreshed/);
    assert.equal(lines.length, 6, 'the command is not in the words');
    assert.doesNotMatch(plan.confirm.detail, /sh |<script>|nix-env/);
    // the exact command, behind "Show Command": the line, then the script it runs
    const command = plan.confirm.command!.split('\n');
    assert.match(
      command[0]!,
      /^\/run\/wrappers\/bin\/sudo -- sh -c '<script>' nixos-generations-clean \/bin\/nix-env \/bin\/nix-store /,
    );
    assert.ok(plan.confirm.command!.includes(CLEAN_SCRIPT.trimEnd()));
    assert.equal(plan.task.scriptText, CLEAN_SCRIPT);
    assert.deepEqual(plan.task.argvFor('/t/c.sh').slice(2), [
      'sh',
      '-c',
      '/t/c.sh',
      'nixos-generations-clean',
      '/bin/nix-env',
      '/bin/nix-store',
      listing.profile.path,
      '1',
      '1',
      '3',
    ]);
  });

  it('a writable user profile runs without elevation and refreshes no boot entries; an unknown size says so', () => {
    const plan = planDeletion({ ...input, isSystem: false, writable: true, freed: undefined });
    assert.equal(plan.task.argvFor('/t/c.sh')[0], 'sh');
    assert.equal(plan.task.argvFor('/t/c.sh')[7], '0');
    assert.match(plan.confirm.detail, /Frees: unknown \(the closures could not be read\)/);
    assert.doesNotMatch(plan.confirm.detail, /boot entries/);
  });

  it('one generation is said in the singular; an upper bound says "up to"', () => {
    const one = planClean(listing.profile.path, listing.generations, { kind: 'selection', generations: [3] });
    const plan = planDeletion({
      ...input,
      selection: one,
      freed: { ...input.freed, upperBound: true, note: 'roots unreadable' },
    });
    assert.equal(plan.confirm.message, 'Delete 1 generation of system?');
    assert.match(plan.confirm.detail, /Frees: up to .*; roots unreadable\./);
  });
});

describe('clean decisions', () => {
  it('nothing to delete: says so, naming what was kept because it is in use', () => {
    const none = planClean(listing.profile.path, listing.generations, { kind: 'selection', generations: [2, 4] });
    assert.equal(
      nothingToDelete(none),
      'NixOS Generations: nothing to delete; kept because they are in use: 2 (booted), 4 (activated, boot default).',
    );
    assert.equal(nothingToDelete(selection), null);
  });

  it('the estimate keeps the kept generations and the activated system alive', () => {
    assert.deepEqual(keptAlive(selection, '/nix/store/x'), [...selection.keep.map((g) => g.storePath), '/nix/store/x']);
    assert.deepEqual(
      keptAlive(selection, null),
      selection.keep.map((g) => g.storePath),
    );
  });

  it('describes generations with their states', () => {
    assert.equal(describeGenerations([]), 'none');
    assert.equal(describeGenerations([gen(7, { missing: true })]), '7 (garbage-collected)');
  });
});
