import assert from 'node:assert/strict';
import { optionValue, parseArgs, UsageError } from '../../../src/cli/args';
import { main } from '../../../src/cli/main';

describe('CLI arguments', () => {
  const spec = { profile: { value: true, repeat: true }, json: {}, base: { value: true } };

  it('collects flags, repeated options and positionals', () => {
    const parsed = parseArgs(['a', '--profile', 'P1', '--json', '--profile=P2', 'b', '--', '--not-an-option'], spec);
    assert.deepEqual(parsed.positionals, ['a', 'b', '--not-an-option']);
    assert.deepEqual(parsed.values.get('profile'), ['P1', 'P2']);
    assert.ok(parsed.flags.has('json'));
    assert.equal(optionValue(parsed, 'profile'), 'P2');
  });

  it('rejects unknown, valueless and repeated single options', () => {
    assert.throws(() => parseArgs(['--nope'], spec), UsageError);
    assert.throws(() => parseArgs(['--base'], spec), /needs a value/);
    assert.throws(() => parseArgs(['--base', 'A', '--base', 'B'], spec), /more than once/);
    assert.throws(() => parseArgs(['--json=1'], spec), /takes no value/);
  });

  it('main() prints usage, rejects unknown commands with exit 2', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t), cwd: process.cwd(), env: {} };
    assert.equal(await main(['--help'], io), 0);
    assert.match(out.join(''), /nixos-generations list/);
    assert.equal(await main(['frobnicate'], io), 2);
    assert.match(err.join(''), /unknown command 'frobnicate'/);
  });
});
