// The same extension-host suite as test/vscode/run-in-code-server.mjs, but in desktop VS Code (Electron) through
// @vscode/test-electron, for machines that can download VS Code (it fetches from update.code.visualstudio.com, so it
// fails on an offline machine; use `npm run test:vscode` there).
//
//   npm run test:electron                     (builds dist/ and out/ first; needs a display, e.g. xvfb-run -a)
//   NIXGEN_VSCODE_VERSION=1.91.0 npm run test:electron   (the minimum engine; default: stable)
//
// It prepares what the code-server runner prepares: a fixture profile (test/fixtures/nix-fixture/make-fixture.sh,
// 12 generations), a copy of test/vscode/workspace, user settings with nixosGenerations.profiles/runDir, and the
// NIXGEN_TEST_* variables for the extension host.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTests } from '@vscode/test-electron';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SUITE = path.join(ROOT, 'out', 'test', 'vscode', 'suite', 'index.js');

/** The variables `OUTDIR/env.sh` of a fixture exports (it points Nix at the fixture's private store). */
function readEnvSh(file: string): Record<string, string> {
  const dump = (script: string): Map<string, string> => {
    const r = spawnSync('bash', ['-c', script, 'env-sh', file], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    if (r.status !== 0) throw new Error(`sourcing ${file} failed: ${r.stderr}`);
    const vars = new Map<string, string>();
    for (const kv of r.stdout.split('\0').filter(Boolean))
      vars.set(kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1));
    return vars;
  };
  const before = dump('env -0');
  const result: Record<string, string> = {};
  for (const [k, v] of dump('. "$1" >/dev/null && env -0')) {
    if (before.get(k) !== v && k !== '_' && k !== 'SHLVL') result[k] = v;
  }
  return result;
}

function removeTree(dir: string): void {
  spawnSync('chmod', ['-R', 'u+w', dir]);
  fs.rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<number> {
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-electron-'));
  try {
    const fixtureDir = path.join(temp, 'fixture');
    const builder =
      process.env.NIXGEN_FIXTURE_BUILDER ?? path.join(ROOT, 'test', 'fixtures', 'nix-fixture', 'make-fixture.sh');
    const built = spawnSync('bash', [builder, fixtureDir, '12'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (built.status !== 0) throw new Error(`${builder} failed: ${built.stderr}`);
    const profile = built.stdout.trim().split('\n').pop() ?? '';
    const runDir = path.join(fixtureDir, 'run');

    const workspace = path.join(temp, 'workspace');
    fs.cpSync(path.join(ROOT, 'test', 'vscode', 'workspace'), workspace, { recursive: true });
    // A git repository with one commit, as in the code-server runner.
    for (const args of [
      ['init', '-q', '-b', 'main'],
      ['add', '-A'],
      ['commit', '-q', '-m', 'Test workspace'],
    ]) {
      const git = spawnSync(
        'git',
        ['-c', 'user.name=NixGen Test', '-c', 'user.email=test@nixgen.invalid', '-c', 'commit.gpgsign=false', ...args],
        {
          cwd: workspace,
          encoding: 'utf8',
          env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
        },
      );
      if (git.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${git.stderr}`);
    }
    const userData = path.join(temp, 'user-data');
    fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
    fs.writeFileSync(
      path.join(userData, 'User', 'settings.json'),
      JSON.stringify(
        {
          'workbench.startupEditor': 'none',
          'telemetry.telemetryLevel': 'off',
          'update.mode': 'none',
          'security.workspace.trust.enabled': false,
          'nixosGenerations.profiles': [profile],
          'nixosGenerations.runDir': runDir,
        },
        null,
        2,
      ),
    );

    return await runTests({
      version: process.env.NIXGEN_VSCODE_VERSION ?? 'stable',
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: SUITE,
      launchArgs: [
        workspace,
        '--user-data-dir',
        userData,
        '--extensions-dir',
        path.join(temp, 'extensions'),
        '--disable-workspace-trust',
        '--skip-welcome',
        '--skip-release-notes',
      ],
      extensionTestsEnv: {
        ...readEnvSh(path.join(fixtureDir, 'env.sh')),
        NIXGEN_TEST_PROFILE: profile,
        NIXGEN_TEST_RUN_DIR: runDir,
        NIXGEN_TEST_FIXTURE_DIR: fixtureDir,
        NIXGEN_TEST_MANIFEST: path.join(fixtureDir, 'manifest.tsv'),
        NIXGEN_TEST_WORKSPACE: workspace,
        NIXOS_FIXTURE_STC_LOG: path.join(fixtureDir, 'switch-to-configuration.log'),
      },
    });
  } finally {
    removeTree(temp);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`test:electron failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
