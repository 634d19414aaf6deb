import assert from 'node:assert/strict';
import * as path from 'node:path';
import { collectNixFiles, compare, type FileResult } from '../conformance/compare';

const CASES = path.resolve(__dirname, '../../../test/conformance/cases');

function explain(results: FileResult[]): string {
  return results
    .map((r) => {
      const where = r.origin ? `${r.origin.file} (${r.origin.edit})` : r.file;
      const nix = r.nix.ok ? 'accepted' : `${r.nix.line}:${r.nix.column}: ${r.nix.message}`;
      const first = r.ours.syntax[0] ?? r.ours.scope[0];
      return `${r.outcome} ${where}\n  nix: ${nix}\n  ours: ${first ? `${first.line}:${first.column}: ${first.message}` : 'accepted'}`;
    })
    .join('\n');
}

describe('parser conformance with nix-instantiate --parse (Nix 2.8)', function () {
  this.timeout(600_000);

  it('agrees with Nix on every committed case, one-edit mutants of them, and random programs', async () => {
    const files = await collectNixFiles([CASES]);
    assert.ok(files.length > 100, 'the committed cases are there');
    const summary = await compare(files, { mutantsPerFile: 3, seed: 20240601, generated: 400 });
    assert.deepEqual(summary.disagreements, [], explain(summary.disagreements));
    // Both sides really were exercised: Nix accepted and rejected files, for syntax and for scope.
    assert.ok(summary.counts['accept-both'] > 50, JSON.stringify(summary.counts));
    assert.ok(summary.counts['reject-both'] > 100, JSON.stringify(summary.counts));
    assert.ok(summary.counts['reject-both-scope'] >= 10, JSON.stringify(summary.counts));
    // The only files 2.8 rejects and we accept are the ones using |> / <| (newer than 2.8).
    for (const r of summary.results.filter((x) => x.outcome === 'newer-syntax')) {
      assert.ok(r.ours.usesPipes, r.file);
      assert.ok(/newer-pipe/.test(r.origin?.file ?? r.file) || r.origin?.file === 'generated', r.file);
    }
  });
});
