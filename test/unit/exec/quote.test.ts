import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { shellJoin, shellQuote } from '../../../src/core/exec/quote';
import { HOSTILE as SAMPLE_HOSTILE } from '../../lib/samples';

/** What a real POSIX shell makes of a quoted line: each argument on its own, NUL-separated. */
function shellWords(line: string): string[] {
  const out = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

/** The shared hostile values, plus the empty argument and a '#' (argv builders never pass on an empty value; '#' starts a flake fragment). */
const HOSTILE = ['plain', '', '#comment', ...SAMPLE_HOSTILE];

describe('shellQuote', () => {
  it('round-trips every hostile value through a real /bin/sh as one word', () => {
    for (const value of HOSTILE) {
      assert.deepEqual(shellWords(shellQuote(value)), [value], `value ${JSON.stringify(value)}`);
    }
  });

  it('joins argv so the shell sees exactly the same argv', () => {
    assert.deepEqual(shellWords(shellJoin(HOSTILE)), HOSTILE);
  });

  it('leaves safe words readable', () => {
    assert.equal(shellQuote('/nix/store/abc-nixos-system-1'), '/nix/store/abc-nixos-system-1');
    assert.equal(shellQuote('root@host:22'), 'root@host:22');
    assert.equal(shellQuote('a b'), "'a b'");
  });

  it('refuses NUL bytes, which no argument can carry', () => {
    assert.throws(() => shellQuote('a\0b'), /NUL/);
  });
});
