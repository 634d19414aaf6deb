// The evaluation layer's pure parts: the argv (offline, never building), quoting into --apply, the digest of the
// expression's JSON, and what a package change means for a stateful service.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { digestEvaluation, packageChangeNote, showValue, workspaceFileOf } from '../../../src/core/eval/digest';
import { isEvaluableHostName, nixEvalArgv, nixMessage, ruleDatabaseOptions } from '../../../src/core/eval/evaluator';
import { applyArgument, nixStringLiteral } from '../../../src/core/eval/expression';
import type { ValueRead } from '../../../src/core/eval/types';

const params = {
  target: null,
  options: [['services', 'postgresql', 'package']],
  homeOptions: [],
  compareServices: true,
  maxOptionsPerService: 10,
};
const pkg = (pname: string, version: string): ValueRead => ({
  ok: true,
  value: { kind: 'package', name: `${pname}-${version}`, pname, version },
});

describe('evaluation: nix eval argv', () => {
  it('runs offline, read-only, without writing the lock file or importing from derivations', () => {
    const argv = nixEvalArgv('nix', '/srv/flake', 'web-1', params);
    assert.equal(argv[0], 'nix');
    for (const flag of ['--offline', '--read-only', '--no-write-lock-file', '--json'])
      assert.ok(argv.includes(flag), flag);
    const i = argv.indexOf('allow-import-from-derivation');
    assert.equal(argv[i - 1], '--option');
    assert.equal(argv[i + 1], 'false');
    assert.ok(argv.includes('/srv/flake#nixosConfigurations."web-1"'));
    assert.ok(argv.includes('nix-command flakes'));
    assert.ok(!argv.includes('build'));
  });

  it('refuses host names and directories it cannot pass safely', () => {
    for (const bad of ['a"b', 'a b', '', '-x', '${x}', 'a\\b']) assert.equal(isEvaluableHostName(bad), false, bad);
    assert.throws(() => nixEvalArgv('nix', '/srv/fl#ake', 'a', params), /cannot name/);
    assert.throws(() => nixEvalArgv('nix', 'relative', 'a', params), /cannot name/);
  });

  it('quotes JSON parameters into a Nix string that cannot interpolate', () => {
    assert.equal(nixStringLiteral('a"b\\c${d}'), '"a\\"b\\\\c\\${d}"');
    const apply = applyArgument({ ...params, target: '${builtins.abort "x"}' });
    assert.ok(apply.includes('\\${builtins.abort'));
    assert.ok(!apply.includes('String.raw'));
    assert.ok(!/\\\$\{name\}/.test(apply), 'the expression keeps its own interpolations');
  });

  it('asks for every option path of the rule database, and only option paths', () => {
    const { nixos, home } = ruleDatabaseOptions();
    assert.ok(nixos.includes('services.postgresql.package'));
    assert.ok(nixos.includes('services.postgresql.enable'));
    assert.ok(home.length > 0);
    for (const o of [...nixos, ...home]) assert.match(o, /^[A-Za-z_][\w'-]*(\.[A-Za-z_][\w'-]*)*$/);
  });

  it("keeps Nix's error, not the retry warnings", () => {
    const stderr =
      "warning: unable to download 'x'; retrying\nerror: attribute 'db' missing\n       at x.nix:1:1\n(use '--show-trace' to show detailed location information)\n";
    assert.equal(nixMessage(stderr), "error: attribute 'db' missing\n       at x.nix:1:1");
  });
});

describe('evaluation: digest', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'nixgen-digest-'));
    mkdirSync(path.join(dir, 'hosts'));
    writeFileSync(path.join(dir, 'hosts', 'a.nix'), '{ }');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('maps store paths of the flake source back to workspace files, and nothing else', () => {
    const store = '/nix/store';
    const h = 'a'.repeat(32);
    assert.equal(
      workspaceFileOf(`${store}/${h}-source/hosts/a.nix`, store, { flakeDir: dir }),
      path.join(dir, 'hosts', 'a.nix'),
    );
    assert.equal(workspaceFileOf(`${store}/${h}-source/hosts/none.nix`, store, { flakeDir: dir }), undefined);
    assert.equal(workspaceFileOf(`${store}/${h}-source/../etc/passwd`, store, { flakeDir: dir }), undefined);
    assert.equal(workspaceFileOf('/etc/passwd', store, { flakeDir: dir }), undefined);
  });

  it('decides "defined by the user" from priority and where the definitions are', () => {
    const h = 'b'.repeat(32);
    const option = (prio: number, file: string): unknown => ({
      path: ['services', 'postgresql', 'package'],
      declared: true,
      highestPrio: prio,
      files: [file],
      value: { ok: true, value: { kind: 'package', name: 'postgresql-15.1', pname: 'postgresql', version: '15.1' } },
    });
    const json = (opt: unknown): unknown => ({
      storeDir: '/nix/store',
      target: null,
      raised: null,
      current: {
        stateVersion: { value: { ok: false }, highestPrio: 1500, definitions: [] },
        options: [opt],
        services: {},
      },
    });
    const ctx = { flakeDir: dir, host: 'a', options: ['services.postgresql.package'] };
    const user = digestEvaluation(json(option(100, `/nix/store/${h}-source/hosts/a.nix`)), ctx);
    assert.equal(user.options[0]!.userDefined, true);
    assert.equal(user.options[0]!.definitions[0]!.workspaceFile, path.join(dir, 'hosts', 'a.nix'));
    const nixpkgsDefault = digestEvaluation(
      json(option(1000, `/nix/store/${h}-source/nixos/modules/services/x.nix`)),
      ctx,
    );
    assert.equal(nixpkgsDefault.options[0]!.userDefined, false);
    const optionDefault = digestEvaluation(json(option(1500, `/nix/store/${h}-source/hosts/a.nix`)), ctx);
    assert.equal(optionDefault.options[0]!.userDefined, false);
    assert.equal(user.raise, undefined);
  });

  it('survives JSON that is not what it expects', () => {
    assert.throws(() => digestEvaluation(null, { flakeDir: dir, host: 'a', options: [] }), /no result/);
    const odd = digestEvaluation(
      { current: { options: 'x', homeUsers: [1, null, { name: 3 }], services: [] } },
      { flakeDir: dir, host: 'a', options: [] },
    );
    assert.deepEqual(odd.options, []);
    assert.deepEqual(odd.homeUsers, []);
    assert.equal(odd.stateVersion.value, undefined);
  });

  it('shows values as people read them', () => {
    assert.equal(showValue(pkg('postgresql', '17.5')), 'postgresql 17.5');
    assert.equal(showValue({ ok: true, value: { kind: 'value', value: '/var/lib/x' } }), '"/var/lib/x"');
    assert.equal(showValue({ ok: false }), '(fails to evaluate)');
  });

  it('says what a package change means for the stateful services', () => {
    assert.equal(
      packageChangeNote('services.postgresql.package', pkg('postgresql', '15.13'), pkg('postgresql', '17.5')),
      'data migration needed',
    );
    assert.match(
      packageChangeNote('services.nextcloud.package', pkg('nextcloud', '31.0.7'), pkg('nextcloud', '33.0.0'))!,
      /not allowed in one step/,
    );
    assert.match(
      packageChangeNote('services.nextcloud.package', pkg('nextcloud', '31.0.7'), pkg('nextcloud', '32.0.1'))!,
      /one major at a time/,
    );
    assert.match(
      packageChangeNote('services.postgresql.package', pkg('postgresql', '17.5'), pkg('postgresql', '15.13'))!,
      /downgrade/,
    );
    assert.equal(
      packageChangeNote('services.postgresql.package', pkg('postgresql', '15.12'), pkg('postgresql', '15.13')),
      undefined,
    );
    assert.equal(packageChangeNote('services.foo.package', pkg('foo', '1'), pkg('foo', '2')), undefined);
  });
});
