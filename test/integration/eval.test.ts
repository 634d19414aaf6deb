// The evaluation layer on real Nix (offline): our expression run by `nix eval` on flakes whose nixpkgs input is a
// stand-in with nixosSystem's shape (test/fixtures/eval/nixos-shape.nix), the cache, cancellation, and lint --eval.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Evaluator } from '../../src/core/eval/evaluator';
import { lintWithEvaluation } from '../../src/core/eval/lint';
import { lintPaths } from '../../src/core/lint/engine';
import type { EvalOutcome, HostEvaluation } from '../../src/core/eval/types';
import { main } from '../../src/cli/main';
import { cleanEnv, repoRoot } from '../fixtures/fixture';
import { commitAll, makeEvalFlake } from '../fixtures/evalFlake';
import type { EvalFlake } from '../fixtures/evalFlake';

const SHAPE = path.join(repoRoot(), 'test', 'fixtures', 'eval', 'nixos-shape.nix');

function ok(outcome: EvalOutcome): HostEvaluation {
  if (outcome.status !== 'ok')
    assert.fail(`expected an evaluation, got ${outcome.status}: ${'message' in outcome ? outcome.message : ''}`);
  return outcome.evaluation;
}

describe('evaluation layer (real nix eval, offline)', function () {
  this.timeout(120_000);
  let flake: EvalFlake;
  let evaluator: Evaluator;
  const logs: string[] = [];

  before(() => {
    flake = makeEvalFlake(SHAPE);
    evaluator = new Evaluator({ env: { ...cleanEnv(), ...flake.env }, log: (l) => logs.push(l) });
  });
  after(() => flake.cleanup());

  it('reads stateVersion defined through a helper-imported module and computed by a function, with its file', async () => {
    const ev = ok(await evaluator.evaluate({ flakeDir: flake.dir, host: 'db' }));
    assert.equal(ev.stateVersion.value, '24.05');
    assert.equal(ev.stateVersion.highestPrio, 100);
    assert.equal(ev.stateVersion.userDefined, true);
    assert.deepEqual(
      ev.stateVersion.definitions.map((d) => d.workspaceFile),
      [path.join(flake.dir, 'hosts', 'common.nix')],
    );
    assert.match(ev.stateVersion.definitions[0]!.file, /-source\/hosts\/common\.nix$/);
    assert.equal(ev.release, '26.05');
    assert.equal(ev.label.userDefined, false);
    assert.equal(ev.configurationRevision.highestPrio, 1500);
    assert.deepEqual(ev.enabledServices, ['nextcloud', 'postgresql']);
    const pg = ev.options.find((o) => o.option === 'services.postgresql.package');
    assert.ok(pg?.value.ok && pg.value.value.kind === 'package');
    assert.equal(pg.value.ok && pg.value.value.kind === 'package' ? pg.value.value.version : '', '15.13');
    assert.equal(pg.userDefined, false);
    assert.ok(
      logs.some((l) => /evaluation of db .*: evaluated in \d+ ms/.test(l)),
      logs.join('\n'),
    );
  });

  it('lists the hosts as Nix sees them (for outputs the static reading cannot follow)', async () => {
    const { hosts, message } = await evaluator.hosts(flake.dir);
    assert.equal(message, undefined);
    assert.deepEqual(hosts, ['aborts', 'broken', 'db', 'nostate', 'pinned', 'slow']);
  });

  it('reads a home-manager user', async () => {
    const ev = ok(await evaluator.evaluate({ flakeDir: flake.dir, host: 'db' }));
    assert.deepEqual(
      ev.homeUsers.map((u) => [u.name, u.stateVersion]),
      [['alice', '24.05']],
    );
  });

  it('says what raising stateVersion to the locked release would change, with the stateful meaning', async () => {
    const ev = ok(await evaluator.evaluate({ flakeDir: flake.dir, host: 'db' }));
    assert.equal(ev.raise?.target, '26.05');
    assert.equal(ev.raise?.available, true);
    const byOption = new Map(ev.raise!.changes.map((c) => [c.option, c]));
    assert.deepEqual(byOption.get('services.postgresql.package'), {
      option: 'services.postgresql.package',
      from: 'postgresql 15.13',
      to: 'postgresql 17.5',
      known: true,
      note: 'data migration needed',
    });
    assert.match(byOption.get('services.nextcloud.package')!.note ?? '', /not allowed in one step/);
    // Found only by comparing the enabled service's options (not in the rule database).
    const dataDir = byOption.get('services.postgresql.dataDir');
    assert.ok(dataDir);
    assert.equal(dataDir.known, false);
    assert.equal(dataDir.to, '"/var/lib/postgresql/postgresql-17"');
    assert.ok(!byOption.has('services.postgresql.port'), 'unchanged options are not listed');
  });

  it('never "raises" to a release older than the stateVersion', async () => {
    const lower = new Evaluator({ env: { ...cleanEnv(), ...flake.env }, target: '23.11' });
    const ev = ok(await lower.evaluate({ flakeDir: flake.dir, host: 'db' }));
    assert.equal(ev.stateVersion.value, '24.05');
    assert.equal(ev.raise, undefined);
    const higher = new Evaluator({ env: { ...cleanEnv(), ...flake.env }, target: '25.11' });
    const raised = ok(await higher.evaluate({ flakeDir: flake.dir, host: 'db' }));
    assert.equal(raised.raise?.target, '25.11');
    assert.ok(
      raised.raise.changes.some((c) => c.option === 'services.postgresql.package' && c.to === 'postgresql 17.5'),
    );
  });

  it('sees an option pinned by the user through a module the static reading cannot follow', async () => {
    const ev = ok(await evaluator.evaluate({ flakeDir: flake.dir, host: 'pinned' }));
    const pg = ev.options.find((o) => o.option === 'services.postgresql.package')!;
    assert.equal(pg.userDefined, true);
    assert.equal(pg.highestPrio, 100);
    assert.deepEqual(
      pg.definitions.map((d) => d.workspaceFile),
      [path.join(flake.dir, 'hosts', 'pin.nix')],
    );
    assert.ok(!ev.raise!.changes.some((c) => c.option === 'services.postgresql.package'));
  });

  it('keeps every other read when one option fails (tryEval)', async () => {
    const ev = ok(await evaluator.evaluate({ flakeDir: flake.dir, host: 'broken' }));
    const nc = ev.options.find((o) => o.option === 'services.nextcloud.package')!;
    assert.equal(nc.value.ok, false);
    assert.equal(ev.stateVersion.value, '25.05');
    const pg = ev.options.find((o) => o.option === 'services.postgresql.package')!;
    assert.ok(pg.value.ok);
  });

  it("reports a failure tryEval cannot catch with Nix's message", async () => {
    const outcome = await evaluator.evaluate({ flakeDir: flake.dir, host: 'aborts' });
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.status === 'failed' ? outcome.message : '', /the port is read from a file that is not there/);
  });

  it('caches by flake.lock, git tree and host, and evaluates again after a change', async () => {
    const first = await evaluator.evaluate({ flakeDir: flake.dir, host: 'nostate' });
    const started = evaluator.processes;
    const again = await evaluator.evaluate({ flakeDir: flake.dir, host: 'nostate' });
    assert.equal(again.status === 'ok' && again.fromCache, true);
    assert.equal(evaluator.processes, started, 'no nix process for a cached result');
    assert.deepEqual(ok(again), ok(first));
    // An uncommitted edit of a tracked file is what Nix evaluates: a new key.
    writeFileSync(
      path.join(flake.dir, 'hosts', 'nostate.nix'),
      '{ pkgs, ... }:\nlet enable = name: { services.${name}.enable = true; };\nin enable "postgresql" // { system.stateVersion = "23.11"; }\n',
    );
    const edited = ok(await evaluator.evaluate({ flakeDir: flake.dir, host: 'nostate' }));
    assert.equal(evaluator.processes, started + 1);
    assert.equal(edited.stateVersion.value, '23.11');
    commitAll(flake.dir, 'stateVersion for nostate');
    const committed = await evaluator.evaluate({ flakeDir: flake.dir, host: 'nostate' });
    assert.equal(committed.status, 'ok');
    // Another host is another key.
    const other = await evaluator.evaluate({ flakeDir: flake.dir, host: 'pinned' });
    assert.equal(other.status === 'ok' && other.evaluation.host, 'pinned');
    git(flake.dir, 'checkout', '-q', 'HEAD~1', '--', 'hosts/nostate.nix');
    commitAll(flake.dir, 'back');
  });

  it('cancels an evaluation midway: the nix process is killed and the queue goes on', async () => {
    const controller = new AbortController();
    const t0 = Date.now();
    const slow = evaluator.evaluate({ flakeDir: flake.dir, host: 'slow', signal: controller.signal });
    const next = evaluator.evaluate({ flakeDir: flake.dir, host: 'pinned' });
    setTimeout(() => controller.abort(), 400);
    const outcome = await slow;
    assert.equal(outcome.status, 'cancelled');
    const cancelledAfter = Date.now() - t0;
    // The uncancelled evaluation of the same host takes much longer than the cancelled one did.
    const full = new Evaluator({ env: { ...cleanEnv(), ...flake.env } });
    const t1 = Date.now();
    ok(await full.evaluate({ flakeDir: flake.dir, host: 'slow' }));
    const fullMs = Date.now() - t1;
    assert.ok(cancelledAfter < fullMs, `cancelled after ${cancelledAfter} ms, a full evaluation takes ${fullMs} ms`);
    assert.equal((await next).status, 'ok');
  });

  it('says once that the inputs are not fetched, with the command that fetches them', async () => {
    const other = makeEvalFlake(SHAPE);
    try {
      writeFileSync(
        path.join(other.dir, 'flake.nix'),
        `{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
  outputs = { self, nixpkgs }: { nixosConfigurations.db = nixpkgs.lib.nixosSystem { modules = [ ./hosts/db.nix ]; }; };
}
`,
      );
      writeFileSync(
        path.join(other.dir, 'flake.lock'),
        JSON.stringify({
          nodes: {
            nixpkgs: {
              locked: {
                lastModified: 1717179513,
                narHash: 'sha256-vboIEwIQojofItm2xGCdZCzW96U85l9nDW3ifMuAIdM=',
                owner: 'NixOS',
                repo: 'nixpkgs',
                rev: '63dacb46bf939521bdc93981b4cbb7ecb58427a0',
                type: 'github',
              },
              original: { owner: 'NixOS', ref: 'nixos-24.05', repo: 'nixpkgs', type: 'github' },
            },
            root: { inputs: { nixpkgs: 'nixpkgs' } },
          },
          root: 'root',
          version: 7,
        }),
      );
      commitAll(other.dir, 'github input');
      const ev = new Evaluator({ env: { ...cleanEnv(), ...other.env } });
      const outcome = await ev.evaluate({ flakeDir: other.dir, host: 'db' });
      assert.equal(outcome.status, 'inputs-missing');
      assert.deepEqual(outcome.status === 'inputs-missing' ? outcome.fetchCommand.slice(-3) : [], [
        'flake',
        'archive',
        other.dir,
      ]);
      const run = await lintWithEvaluation([other.dir], { base: '' }, ev);
      assert.equal(run.notes.filter((n) => n.includes('not fetched yet')).length, 1, run.notes.join('\n'));
      assert.ok(run.notes.some((n) => n.includes(`flake archive ${other.dir}`)));
    } finally {
      other.cleanup();
    }
  });

  it('lint --eval: evaluation replaces the static guess and adds what only evaluation sees', async () => {
    const statics = await lintPaths([flake.dir], { base: '' });
    const staticPinned = statics.diagnostics.filter(
      (d) => d.file === path.join(flake.dir, 'hosts', 'pinned.nix') && d.code === 'service-follows-stateversion',
    );
    assert.equal(staticPinned.length, 1, 'the static reading guesses the package is not pinned');
    assert.ok(!statics.diagnostics.some((d) => d.file.endsWith('common.nix')), "nor can it see db's stateVersion");
    const run = await lintWithEvaluation([flake.dir], { base: '' }, evaluator);
    const at = (rel: string, code: string): string[] =>
      run.diagnostics.filter((d) => d.file === path.join(flake.dir, rel) && d.code === code).map((d) => d.message);
    // pinned: the static reading warns (it cannot follow the computed import); evaluation shows the pin: gone.
    assert.deepEqual(at('hosts/pinned.nix', 'service-follows-stateversion'), []);
    // nostate: confirmed missing.
    const missing = run.diagnostics.filter((d) => d.code === 'stateversion-missing');
    assert.equal(missing.length, 1, JSON.stringify(missing));
    assert.match(missing[0]!.message, /nostate/);
    assert.match(missing[0]!.message, /confirmed by evaluation/);
    assert.match(
      at('hosts/broken.nix', 'service-follows-stateversion').join('\n'),
      /\(confirmed by evaluation of broken\)$/,
    );
    // db: the service gates, on the stateVersion line of the helper module, and the raise preview there.
    const db = at('hosts/common.nix', 'service-follows-stateversion').join('\n');
    assert.match(db, /services\.postgresql\.package follows stateVersion .*configuration db/);
    const preview = run.diagnostics.find((d) => d.code === 'stateversion-raise-preview' && d.message.startsWith('db:'));
    assert.ok(preview);
    assert.equal(preview.file, path.join(flake.dir, 'hosts', 'common.nix'));
    assert.equal(preview.range.start.line, 3);
    assert.ok(
      preview.raise?.changes.some((c) => c.option === 'services.postgresql.package' && c.to === 'postgresql 17.5'),
    );
    assert.ok(run.notes.some((n) => n.includes('evaluating aborts failed')));
  });

  it('lint --eval --format json from the command line', async () => {
    let out = '';
    let err = '';
    const env = { ...cleanEnv(), ...flake.env, XDG_CACHE_HOME: path.join(flake.nixpkgs, '..', 'cache') };
    const code = await main(['lint', '--eval', '--format', 'json', flake.dir], {
      out: (s: string) => (out += s),
      err: (s: string) => (err += s),
      cwd: flake.dir,
      env,
    });
    assert.equal(code, 0, err); // nostate's missing stateVersion is a warning for NixOS
    const json = JSON.parse(out) as {
      code: string;
      file: string;
      raise?: { host: string; changes: { option: string }[] };
    }[];
    const previews = json.filter((d) => d.code === 'stateversion-raise-preview');
    // nostate's stateVersion is the release already (the default): nothing to raise; aborts fails to evaluate.
    assert.deepEqual(previews.map((p) => p.raise?.host).sort(), ['broken', 'db', 'pinned', 'slow']);
    assert.match(err, /evaluation of db .* in \d+ ms/);
  });
});

function git(dir: string, ...args: string[]): void {
  const r = spawnSync('git', ['-C', dir, ...args], { env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' } });
  assert.equal(r.status, 0, String(r.stderr));
}
