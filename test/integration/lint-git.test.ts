// stateversion-changed, service warnings on change and service-major-upgrade against real git repositories
// made by the tests, through the engine and the CLI.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runChecked } from '../../src/core/exec/process';
import { lintPaths } from '../../src/core/lint/engine';
import type { LintDiagnostic } from '../../src/core/lint/types';
import { main } from '../../src/cli/main';
import { GIT_ENV, nixpkgsLock } from '../lib/git';

const FLAKE = `{
  outputs = { nixpkgs, ... }: {
    nixosConfigurations.server = nixpkgs.lib.nixosSystem {
      modules = [ ./configuration.nix ];
    };
  };
}
`;

function config(sv: string, extra = '  services.postgresql.enable = true;'): string {
  return `{ pkgs, ... }:\n{\n  system.stateVersion = "${sv}";\n${extra}\n}\n`;
}

class Repo {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'nixgen-lint-git-'));

  write(rel: string, text: string): void {
    const p = path.join(this.dir, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
  }

  async git(...args: string[]): Promise<string> {
    return (await runChecked(['git', '-C', this.dir, ...args], { env: GIT_ENV })).stdout.trim();
  }

  async commit(message: string): Promise<string> {
    await this.git('add', '-A');
    await this.git('commit', '-q', '-m', message);
    return this.git('rev-parse', 'HEAD');
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function makeRepo(files: Record<string, string>): Promise<Repo> {
  const repo = new Repo();
  await repo.git('init', '-q', '-b', 'main');
  for (const [rel, text] of Object.entries(files)) repo.write(rel, text);
  await repo.commit('initial');
  return repo;
}

const byCode = (list: LintDiagnostic[], code: string): LintDiagnostic[] => list.filter((d) => d.code === code);

describe('lint against git revisions (real repositories)', () => {
  const repos: Repo[] = [];
  const repo = async (files: Record<string, string>): Promise<Repo> => {
    const r = await makeRepo(files);
    repos.push(r);
    return r;
  };
  after(() => repos.forEach((r) => r.cleanup()));

  it('says nothing about change when the working tree matches HEAD', async () => {
    const r = await repo({
      'flake.nix': FLAKE,
      'flake.lock': nixpkgsLock('nixos-24.11'),
      'configuration.nix': config('23.11'),
    });
    const run = await lintPaths([r.dir]);
    assert.deepEqual(byCode(run.diagnostics, 'stateversion-changed'), []);
    assert.deepEqual(
      run.diagnostics.map((d) => `${d.severity}:${d.code}`),
      ['hint:service-follows-stateversion'],
    );
  });

  it('flags a stateVersion bump, lists what it flips, and turns the service hint into a warning', async () => {
    const r = await repo({
      'flake.nix': FLAKE,
      'flake.lock': nixpkgsLock('nixos-24.11'),
      'configuration.nix': config('23.11'),
    });
    r.write('configuration.nix', config('24.11'));
    const run = await lintPaths([r.dir]);
    const changed = byCode(run.diagnostics, 'stateversion-changed');
    assert.equal(changed.length, 1);
    assert.equal(changed[0]!.severity, 'error', 'flipping the PostgreSQL major is a data-loss risk');
    assert.match(changed[0]!.message, /from "23\.11" \(HEAD\) to "24\.11"/);
    assert.match(changed[0]!.message, /upgrades nothing/);
    assert.match(changed[0]!.message, /services\.postgresql\.package: postgresql_15 → postgresql_16/);
    assert.equal(changed[0]!.fixes![0]!.edits[0]!.newText, '"23.11"');
    const service = byCode(run.diagnostics, 'service-follows-stateversion');
    assert.equal(service.length, 1);
    assert.equal(service[0]!.severity, 'warning');
    assert.match(service[0]!.fixes![0]!.title, /pkgs\.postgresql_15$/, 'pins the version in effect before the change');
  });

  it('warns (not errors) when the bump flips nothing this configuration uses', async () => {
    const r = await repo({
      'flake.nix': FLAKE,
      'flake.lock': nixpkgsLock('nixos-24.11'),
      'configuration.nix': config('24.05', '  services.openssh.enable = true;'),
    });
    r.write('configuration.nix', config('24.11', '  services.openssh.enable = true;'));
    const changed = byCode((await lintPaths([r.dir])).diagnostics, 'stateversion-changed');
    assert.equal(changed.length, 1);
    assert.equal(changed[0]!.severity, 'warning');
    assert.match(changed[0]!.message, /None of the defaults this tool knows of changes/);
  });

  it('compares with --base REV, and with nothing outside a repository', async () => {
    const r = await repo({
      'flake.nix': FLAKE,
      'flake.lock': nixpkgsLock('nixos-24.11'),
      'configuration.nix': config('23.05'),
    });
    r.write('configuration.nix', config('23.11'));
    await r.commit('bump');
    assert.deepEqual(byCode((await lintPaths([r.dir])).diagnostics, 'stateversion-changed'), []);
    const vsFirst = byCode((await lintPaths([r.dir], { base: 'HEAD~1' })).diagnostics, 'stateversion-changed');
    assert.equal(vsFirst.length, 1);
    assert.match(vsFirst[0]!.message, /from "23\.05" \(HEAD~1\)/);
    const unknown = await lintPaths([r.dir], { base: 'no-such-branch' });
    assert.match(unknown.notes.join('\n'), /cannot read git revision no-such-branch/);
    await rmSync(path.join(r.dir, '.git'), { recursive: true, force: true });
    assert.deepEqual(byCode((await lintPaths([r.dir], { base: 'HEAD~1' })).diagnostics, 'stateversion-changed'), []);
  });

  it('follows a stateVersion passed through let and specialArgs across revisions', async () => {
    const flake = (sv: string): string => `{
  outputs = { nixpkgs, ... }: let stateVersion = "${sv}"; in {
    nixosConfigurations.a = nixpkgs.lib.nixosSystem { specialArgs = { inherit stateVersion; }; modules = [ ./a.nix ]; };
  };
}
`;
    const r = await repo({
      'flake.nix': flake('23.05'),
      'flake.lock': nixpkgsLock('nixos-24.05'),
      'a.nix': '{ stateVersion, ... }: { system.stateVersion = stateVersion; }\n',
    });
    r.write('flake.nix', flake('23.11'));
    const changed = byCode((await lintPaths([r.dir])).diagnostics, 'stateversion-changed');
    assert.equal(changed.length, 1);
    assert.equal(path.basename(changed[0]!.file), 'flake.nix');
  });

  it('warns when a nixpkgs update crosses a threshold for an unpinned service', async () => {
    const r = await repo({
      'flake.nix': FLAKE,
      'flake.lock': nixpkgsLock('nixos-24.05'),
      'configuration.nix': config('24.11'),
    });
    r.write('flake.lock', nixpkgsLock('nixos-24.11'));
    const service = byCode((await lintPaths([r.dir])).diagnostics, 'service-follows-stateversion');
    assert.equal(service.length, 1);
    assert.equal(service[0]!.severity, 'warning');
    assert.match(
      service[0]!.message,
      /nixpkgs update from 24\.05 to 24\.11 switches it from postgresql_15 to postgresql_16/,
    );
  });

  describe('service-major-upgrade', () => {
    const pinned = (pkg: string, service = 'postgresql'): string =>
      config('23.11', `  services.${service}.enable = true;\n  services.${service}.package = pkgs.${pkg};`);

    it('flags a PostgreSQL major change of the pin, with the upgrade steps', async () => {
      const r = await repo({
        'flake.nix': FLAKE,
        'flake.lock': nixpkgsLock('nixos-24.11'),
        'configuration.nix': pinned('postgresql_15'),
      });
      r.write('configuration.nix', pinned('postgresql_16'));
      const d = byCode((await lintPaths([r.dir])).diagnostics, 'service-major-upgrade');
      assert.equal(d.length, 1);
      assert.equal(d[0]!.severity, 'warning');
      assert.match(d[0]!.message, /PostgreSQL upgrade from 15 \(postgresql_15, HEAD\) to 16/);
      assert.match(d[0]!.message, /pg_upgrade/);
      r.write('configuration.nix', pinned('postgresql_15.withPackages (p: [ p.postgis ])'));
      assert.deepEqual(byCode((await lintPaths([r.dir])).diagnostics, 'service-major-upgrade'), []);
    });

    it('sees a new pin that differs from the stateVersion default that ran before', async () => {
      const r = await repo({
        'flake.nix': FLAKE,
        'flake.lock': nixpkgsLock('nixos-24.11'),
        'configuration.nix': config('23.11'),
      });
      r.write('configuration.nix', pinned('postgresql_17'));
      const d = byCode((await lintPaths([r.dir])).diagnostics, 'service-major-upgrade');
      assert.equal(d.length, 1);
      assert.match(d[0]!.message, /from 15 \(postgresql_15 \(the stateVersion default\), HEAD\) to 17/);
      r.write('configuration.nix', pinned('postgresql_15'));
      assert.deepEqual(byCode((await lintPaths([r.dir])).diagnostics, 'service-major-upgrade'), []);
    });

    it('lets Nextcloud go one major at a time and stops a skip', async () => {
      const r = await repo({
        'flake.nix': FLAKE,
        'flake.lock': nixpkgsLock('nixos-24.11'),
        'configuration.nix': pinned('nextcloud28', 'nextcloud'),
      });
      r.write('configuration.nix', pinned('nextcloud29', 'nextcloud'));
      const one = byCode((await lintPaths([r.dir])).diagnostics, 'service-major-upgrade');
      assert.deepEqual(
        one.map((d) => d.severity),
        ['information'],
      );
      r.write('configuration.nix', pinned('nextcloud30', 'nextcloud'));
      const two = byCode((await lintPaths([r.dir])).diagnostics, 'service-major-upgrade');
      assert.deepEqual(
        two.map((d) => d.severity),
        ['error'],
      );
      assert.match(two[0]!.message, /skips 1 major version/);
      r.write('configuration.nix', pinned('nextcloud27', 'nextcloud'));
      const down = byCode((await lintPaths([r.dir])).diagnostics, 'service-major-upgrade');
      assert.deepEqual(
        down.map((d) => d.severity),
        ['error'],
      );
      assert.match(down[0]!.message, /downgrade/);
    });

    it('compares with the activated generation when its configurationRevision is known', async () => {
      const r = await repo({
        'flake.nix': FLAKE,
        'flake.lock': nixpkgsLock('nixos-24.11'),
        'configuration.nix': pinned('postgresql_14'),
      });
      const deployedRev = await r.git('rev-parse', 'HEAD');
      r.write('configuration.nix', pinned('postgresql_15'));
      await r.commit('pg 15');
      // A fake activated system whose nixos-version reports the first commit.
      const runDir = mkdtempSync(path.join(tmpdir(), 'nixgen-run-'));
      try {
        const bin = path.join(runDir, 'current-system', 'sw', 'bin');
        mkdirSync(bin, { recursive: true });
        writeFileSync(
          path.join(bin, 'nixos-version'),
          `#!/bin/sh\necho '{"nixosVersion":"24.11.20241201.abcdef0","configurationRevision":"${deployedRev}"}'\n`,
        );
        chmodSync(path.join(bin, 'nixos-version'), 0o755);
        const d = byCode((await lintPaths([r.dir], { runDir })).diagnostics, 'service-major-upgrade');
        assert.equal(d.length, 1);
        assert.match(d[0]!.message, /the activated generation \([0-9a-f]{7}\)/);
        assert.deepEqual(byCode((await lintPaths([r.dir])).diagnostics, 'service-major-upgrade'), []);
      } finally {
        rmSync(runDir, { recursive: true, force: true });
      }
    });
  });

  it('offers, for a stateVersion newer than nixpkgs, the value at HEAD and the one the activated generation has', async () => {
    const r = await repo({
      'flake.nix': FLAKE,
      'flake.lock': nixpkgsLock('nixos-24.11'),
      'configuration.nix': config('24.05', '  services.openssh.enable = true;'),
    });
    const installed = await r.git('rev-parse', 'HEAD');
    r.write('configuration.nix', config('24.11', '  services.openssh.enable = true;'));
    await r.commit('bump');
    r.write('configuration.nix', config('26.11', '  services.openssh.enable = true;'));
    // the explorer's facts name the activated generation's commit: no process asked
    const machine = { hostName: 'laptop', activated: { generation: 30, revision: installed } };
    const runDir = mkdtempSync(path.join(tmpdir(), 'nixgen-run-'));
    try {
      const run = await lintPaths([r.dir], { runDir, machine });
      const newer = byCode(run.diagnostics, 'stateversion-newer-than-nixpkgs');
      assert.equal(newer.length, 1);
      assert.deepEqual(
        newer[0]!.fixes!.map((f) => [f.title, f.edits[0]!.newText, f.preferred]),
        [
          ['Use "24.11": the value at HEAD', '"24.11"', true],
          [
            `Use "24.05": the value the activated generation (${installed.slice(0, 7)}) was built with`,
            '"24.05"',
            false,
          ],
        ],
      );
      // the same value from both: one fix naming both reasons; this machine (host server) adds its first release
      r.write('configuration.nix', config('24.05', '  services.openssh.enable = true;'));
      await r.commit('back');
      r.write('configuration.nix', config('26.11', '  services.openssh.enable = true;'));
      const here = { ...machine, hostName: 'server', oldest: { generation: 1, release: '23.11' } };
      const again = byCode(
        (await lintPaths([r.dir], { runDir, machine: here })).diagnostics,
        'stateversion-newer-than-nixpkgs',
      );
      assert.deepEqual(
        again[0]!.fixes!.map((f) => f.title),
        [
          `Use "24.05": the value at HEAD; the value the activated generation (${installed.slice(0, 7)}) was built with`,
          'Use "23.11": this machine was installed with 23.11 (its first generation was built with it)',
        ],
      );
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  describe('the lint command', () => {
    const cli = async (args: string[], cwd: string): Promise<{ code: number; out: string; err: string }> => {
      let out = '';
      let err = '';
      const code = await main(['lint', ...args], { out: (t) => (out += t), err: (t) => (err += t), cwd, env: {} });
      return { code, out, err };
    };

    it('prints the contract JSON with 1-based positions and exits 1 on errors', async () => {
      const r = await repo({
        'flake.nix': FLAKE,
        'flake.lock': nixpkgsLock('nixos-24.05'),
        'configuration.nix': config('24.11'),
      });
      const res = await cli(['--format', 'json'], r.dir);
      assert.equal(res.code, 1);
      const list = JSON.parse(res.out) as Record<string, unknown>[];
      const newer = list.find((d) => d.code === 'stateversion-newer-than-nixpkgs')!;
      assert.deepEqual(Object.keys(newer).sort(), [
        'code',
        'column',
        'endColumn',
        'endLine',
        'file',
        'line',
        'message',
        'severity',
      ]);
      assert.deepEqual(
        [newer.file, newer.line, newer.column, newer.endLine, newer.endColumn],
        ['configuration.nix', 3, 25, 3, 32],
      );
      assert.equal(newer.severity, 'error');
    });

    it('exits 0 when a NixOS host misses stateVersion (NixOS only warns), 1 when a home-manager user does', async () => {
      const nixos = await repo({
        'flake.nix': FLAKE,
        'flake.lock': nixpkgsLock('nixos-24.11'),
        'configuration.nix': '{ pkgs, ... }:\n{\n  networking.hostName = "server";\n}\n',
      });
      const warned = await cli(['--format', 'json'], nixos.dir);
      assert.deepEqual(
        (JSON.parse(warned.out) as { code: string; severity: string }[]).map((d) => `${d.severity}:${d.code}`),
        ['warning:stateversion-missing'],
      );
      assert.equal(warned.code, 0);
      const home = await repo({
        'flake.nix': `{
  outputs = { nixpkgs, home-manager, ... }: {
    homeConfigurations.alice = home-manager.lib.homeManagerConfiguration {
      pkgs = nixpkgs.legacyPackages.x86_64-linux;
      modules = [ ./home.nix ];
    };
  };
}
`,
        'home.nix': '{ pkgs, ... }:\n{\n  programs.git.enable = true;\n}\n',
      });
      const failed = await cli(['--format', 'json'], home.dir);
      assert.deepEqual(
        (JSON.parse(failed.out) as { code: string; severity: string }[]).map((d) => `${d.severity}:${d.code}`),
        ['error:stateversion-missing'],
      );
      assert.equal(failed.code, 1);
    });

    it('exits 0 without errors, prints text and SARIF, refuses bad usage', async () => {
      const r = await repo({
        'flake.nix': FLAKE,
        'flake.lock': nixpkgsLock('nixos-24.11'),
        'configuration.nix': config('23.11'),
      });
      const text = await cli([r.dir], '/');
      assert.equal(text.code, 0);
      assert.match(
        text.out,
        /configuration\.nix:4:3: hint: services\.postgresql\.package follows stateVersion .*\[service-follows-stateversion\]/,
      );
      const sarif = await cli(['--format=sarif', '.'], r.dir);
      assert.equal(sarif.code, 0);
      const doc = JSON.parse(sarif.out) as {
        version: string;
        runs: {
          tool: { driver: { name: string; rules: { id: string }[] } };
          results: {
            ruleId: string;
            level: string;
            locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
          }[];
        }[];
      };
      assert.equal(doc.version, '2.1.0');
      assert.equal(doc.runs[0]!.tool.driver.name, 'nixos-generations');
      assert.ok(doc.runs[0]!.tool.driver.rules.some((x) => x.id === 'stateversion-changed'));
      const result = doc.runs[0]!.results[0]!;
      assert.equal(result.ruleId, 'service-follows-stateversion');
      assert.equal(result.level, 'note');
      assert.equal(result.locations[0]!.physicalLocation.artifactLocation.uri, 'configuration.nix');
      assert.equal(result.locations[0]!.physicalLocation.region.startLine, 4);
      assert.equal((await cli(['--format', 'xml'], r.dir)).code, 2);
      assert.equal((await cli(['does-not-exist'], r.dir)).code, 2);
    });
  });
});
