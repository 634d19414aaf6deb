/**
 * `nixos-generations diff` against real Nix: fixture generations across 23.11, 24.05 and 24.11, compared with
 * what `nix store diff-closures` and `nix path-info -S` say about the same pairs.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runChecked } from '../../src/core/exec/process';
import { run } from '../../src/cli/commands/diff';
import type { CliIO } from '../../src/cli/io';
import { diffSystems, type GenerationDiff } from '../../src/core/diff';
import { buildFixture, type NixFixture } from '../fixtures/fixture';

const NIX = ['nix', '--extra-experimental-features', 'nix-command'];

/** Where the CLI keeps closures in these tests (never the $HOME of whoever runs them). */
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-diff-cache-'));
after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    cwd: process.cwd(),
    env: { ...env, NIXOS_GENERATIONS_CACHE_DIR: cacheDir },
  };
  const code = await run(args, io);
  return { code, out, err };
}

/** `nix store diff-closures` lines as name -> [before versions, after versions] (ANSI colours stripped). */
async function diffClosures(a: string, b: string, env: NodeJS.ProcessEnv): Promise<Map<string, [string[], string[]]>> {
  const r = await runChecked([...NIX, 'store', 'diff-closures', a, b], { baseEnv: env });
  const map = new Map<string, [string[], string[]]>();
  // eslint-disable-next-line no-control-regex
  for (const line of r.stdout.replace(/\x1b\[[0-9;]*m/g, '').split('\n')) {
    const m = /^(.+?): (.+?) → ([^,]+)(?:, .*)?$/.exec(line);
    if (!m) continue;
    const list = (s: string): string[] => (s === '∅' || s === 'ε' ? [] : s.split(', '));
    map.set(m[1]!, [list(m[2]!), list(m[3]!)]);
  }
  return map;
}

describe('diff: real closures of fixture generations', function () {
  this.timeout(180_000);
  let fx: NixFixture;
  const top = (n: number): string => fx.manifest.find((r) => r.generation === n)!.toplevel;

  before(async () => {
    fx = await buildFixture({ generations: 9 });
  });

  for (const [a, b] of [
    [4, 7],
    [7, 4],
    [1, 9],
    [5, 6],
  ] as const) {
    it(`agrees with nix store diff-closures on generations ${a} -> ${b}`, async () => {
      const r = await cli([String(a), String(b), '--profile', fx.profile, '--json'], fx.env);
      assert.equal(r.code, 0, r.err);
      const diff = JSON.parse(r.out) as GenerationDiff;
      assert.equal(diff.from.generation, a);
      assert.equal(diff.to.generation, b);
      const theirs = await diffClosures(top(a), top(b), fx.env);
      let compared = 0;
      for (const [name, [before, after]] of theirs) {
        if (name.startsWith('nixos-system-') || before.length === 0 || after.length === 0) continue;
        const ours = diff.closure.packages.find((p) => p.name === name);
        assert.ok(ours, `${name} is in our diff`);
        assert.deepEqual([ours.before, ours.after], [before, after], name);
        const expected = before.join() === after.join() ? ours.kind : a < b ? 'upgraded' : 'downgraded';
        assert.equal(ours.kind, expected, name);
        compared++;
      }
      if (theirs.size > 0) assert.ok(compared > 0, 'some packages were compared');
      // closure sizes as nix path-info -S reports them
      const info = await runChecked([...NIX, 'path-info', '-S', '--json', top(a), top(b)], { baseEnv: fx.env });
      const sizes = new Map(
        (JSON.parse(info.stdout) as Array<{ path: string; closureSize: number }>).map((x) => [x.path, x.closureSize]),
      );
      assert.equal(diff.closure.sizeBefore, sizes.get(top(a)));
      assert.equal(diff.closure.sizeAfter, sizes.get(top(b)));
      // the system itself is one package under its host name, with the label as version
      const system = diff.closure.packages.find((p) => p.name === 'nixos-system-nixbox');
      assert.ok(system, 'the toplevel shows as nixos-system-nixbox');
      assert.deepEqual(system.after, [diff.to.label]);
      assert.equal(diff.closure.packages.filter((p) => p.name.startsWith('nixos-system-')).length, 1);
    });
  }

  it('reports kernel changes, stateVersion changes and risky upgrades first', async () => {
    const diff = await diffSystems(top(3), top(7), { env: fx.env, generations: { from: 3, to: 7 } });
    assert.equal(diff.kernel.changed, true);
    assert.notEqual(diff.kernel.before, diff.kernel.after);
    assert.equal(diff.kernel.rebootNeeded, true);
    // nextcloud 27 -> 30 skips majors (error), postgresql 15 -> 16 (warning), the kernel (information), in that order
    assert.deepEqual(
      diff.risks.map((r) => [r.subject, r.severity]),
      [
        ['nextcloud', 'error'],
        ['postgresql', 'warning'],
        ['kernel', 'information'],
      ],
    );
    assert.deepEqual(diff.risks.map((r) => r.subject).sort(), ['kernel', 'nextcloud', 'postgresql']);
    const sv = await diffSystems(top(1), top(3), { env: fx.env });
    assert.deepEqual(
      [sv.stateVersion.before, sv.stateVersion.after, sv.stateVersion.changed],
      ['23.05', '23.11', true],
    );
    assert.equal(sv.risks[0]!.kind, 'stateversion-changed');
    const same = await diffSystems(top(5), top(5), { env: fx.env });
    assert.deepEqual(same.closure.packages, []);
    assert.equal(same.risks.length, 0);
  });

  it('parses the units of the fixture dry-activate output when asked', async () => {
    const diff = await diffSystems(top(8), top(9), {
      env: fx.env,
      dryActivateOutput: 'would restart the following units: nginx.service\nwould start the following units: x.timer\n',
    });
    assert.deepEqual(diff.units?.restart, ['nginx.service']);
    assert.deepEqual(diff.units?.start, ['x.timer']);
  });

  it('keeps the closures it read: a second diff of the pair runs no nix and says the same; a bad file is ignored', async () => {
    const args = ['3', '8', '--profile', fx.profile, '--json'];
    const first = await cli(args, fx.env);
    assert.equal(first.code, 0, first.err);
    const files = fs.readdirSync(path.join(cacheDir, 'closures-v1'));
    for (const n of [3, 8]) assert.ok(files.includes(`${path.basename(top(n))}.json`), `generation ${n} kept`);
    // no nix on PATH: only the kept closures can answer
    const noNix = { ...fx.env, PATH: '/nonexistent' };
    const second = await cli(args, noNix);
    assert.equal(second.code, 0, second.err);
    assert.deepEqual(JSON.parse(second.out), JSON.parse(first.out));
    const failed = (e: unknown) => ({ code: -1, out: '', err: String(e) });
    const bypass = await cli([...args, '--no-cache'], noNix).catch(failed);
    assert.notEqual(bypass.code, 0, '--no-cache reads nothing kept, and there is no nix to ask');
    // a file naming another root (or not a closure at all) is not believed: nix is asked again
    const kept = path.join(cacheDir, 'closures-v1', `${path.basename(top(8))}.json`);
    const doc = JSON.parse(fs.readFileSync(kept, 'utf8')) as { root: string };
    fs.writeFileSync(kept, JSON.stringify({ ...doc, root: top(7) }));
    assert.notEqual((await cli(args, noNix).catch(failed)).code, 0);
    const again = await cli(args, fx.env);
    assert.deepEqual(JSON.parse(again.out), JSON.parse(first.out));
    assert.equal((JSON.parse(fs.readFileSync(kept, 'utf8')) as { root: string }).root, top(8), 'rewritten');
  });

  it('prints text with the risky changes at the top, and explains bad arguments', async () => {
    const text = await cli(['4', '7', '--profile', fx.profile], fx.env);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /^From: generation 4/);
    assert.ok(text.out.indexOf('Risky changes:') < text.out.indexOf('Upgraded ('));
    assert.match(text.out, /postgresql +15\.7 → 16\.5/);
    const paths = await cli([top(4), top(7)], fx.env);
    assert.equal(paths.code, 0, paths.err);
    assert.match(paths.out, /^From: \//);
    const gone = await cli(['2', '4', '--profile', fx.profile], fx.env);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /garbage-collected/);
    const none = await cli(['99', '4', '--profile', fx.profile], fx.env);
    assert.equal(none.code, 1);
    assert.match(none.err, /generation 99 of .* does not exist/);
    await assert.rejects(cli(['4'], fx.env), /exactly two arguments/);
  });
});
