import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { unifiedDiff } from '../../../src/core/deploy/diff';

/** Applies the diff with the real `git apply` and returns the result. */
function applyWithGit(before: string, diff: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-diff-'));
  try {
    fs.writeFileSync(path.join(dir, 'flake.nix'), before);
    fs.writeFileSync(path.join(dir, 'p.diff'), diff);
    execFileSync('git', ['apply', '--unidiff-zero', 'p.diff'], { cwd: dir, stdio: 'pipe' });
    return fs.readFileSync(path.join(dir, 'flake.nix'), 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('unified diff', () => {
  const base = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

  it('is empty for equal texts', () => {
    assert.equal(unifiedDiff(base, base, 'flake.nix'), '');
  });

  it('applies with git apply for insertions, removals and changes, near and far apart', () => {
    const lines = base.split('\n');
    const cases = [
      [...lines.slice(0, 5), 'inserted', ...lines.slice(5)].join('\n'),
      [...lines.slice(0, 5), ...lines.slice(7)].join('\n'),
      [...lines.slice(0, 2), 'changed', ...lines.slice(3, 30), 'far', ...lines.slice(31)].join('\n'),
      [...lines.slice(0, 10), 'a', 'b', ...lines.slice(11, 13), 'c', ...lines.slice(13)].join('\n'),
      ['first', ...lines].join('\n'),
      lines.slice(0, -2).join('\n') + '\nlast\n',
    ];
    for (const after of cases) {
      const diff = unifiedDiff(base, after, 'flake.nix');
      assert.match(diff, /^--- a\/flake\.nix\n\+\+\+ b\/flake\.nix\n@@ -\d+,\d+ \+\d+,\d+ @@\n/);
      assert.equal(applyWithGit(base, diff), after);
    }
  });

  it('keeps hunks small: three lines of context', () => {
    const after = base.replace('line 20\n', 'line 20\nnew\n');
    const diff = unifiedDiff(base, after, 'flake.nix');
    assert.equal(
      diff,
      '--- a/flake.nix\n+++ b/flake.nix\n@@ -18,6 +18,7 @@\n line 18\n line 19\n line 20\n+new\n line 21\n line 22\n line 23\n',
    );
  });
});
