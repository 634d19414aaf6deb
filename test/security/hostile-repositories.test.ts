/**
 * Hostile repositories: a clone that commits a folder laid out as a git directory (HEAD, objects/, refs/, a config
 * with `core.worktree = .`, `extensions.partialClone` naming a promisor remote, and `core.sshCommand` set to a
 * command). git run inside that folder takes it for a repository; reading a missing object fetches it lazily from
 * the promisor, which runs the ssh command. Linting a file in it (the shipped CLI, the language server's service),
 * and every git call of the project, must never run that command. The command would create a marker file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkoutRevision } from '../../src/core/deploy/worktree';
import { gitArgv, gitEnvironment, openRepository, runGit, type GitRepository } from '../../src/core/exec/git';
import { runProcess } from '../../src/core/exec/process';
import { LintService } from '../../src/core/lint/service';
import { git, GIT_ENV } from '../lib/git';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
const MISSING = '1111111111111111111111111111111111111111';

/** The config of a git directory that fetches lazily over ssh, running `touch marker`. */
function promisorConfig(marker: string, extra = ''): string {
  return [
    '[core]',
    '\trepositoryformatversion = 1',
    '\tbare = false',
    '\tworktree = .',
    `\tsshCommand = touch '${marker}'; false`,
    '[extensions]',
    '\tpartialClone = origin',
    '[remote "origin"]',
    '\turl = ssh://example.invalid/x.git',
    '\tpromisor = true',
    extra,
  ].join('\n');
}

describe('security: hostile repositories never run code through git', function () {
  this.timeout(60_000);
  let work: string;
  let clone: string;
  let evil: string;
  let marker: string;

  before(async () => {
    work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-hostile-git-')));
    marker = path.join(work, 'PWNED');
    const upstream = path.join(work, 'upstream');
    fs.mkdirSync(upstream);
    await git(upstream, 'init', '-q', '-b', 'main');
    const folder = path.join(upstream, 'evil');
    fs.mkdirSync(path.join(folder, 'objects', 'info'), { recursive: true });
    fs.mkdirSync(path.join(folder, 'refs', 'heads'), { recursive: true });
    fs.writeFileSync(path.join(folder, 'objects', 'info', '.keep'), '');
    fs.writeFileSync(path.join(folder, 'HEAD'), 'ref: refs/heads/main\n');
    fs.writeFileSync(path.join(folder, 'refs', 'heads', 'main'), `${MISSING}\n`);
    fs.writeFileSync(path.join(folder, 'config'), promisorConfig(marker));
    fs.writeFileSync(path.join(folder, 'configuration.nix'), '{ ... }: {\n  system.stateVersion = "24.05";\n}\n');
    await git(upstream, 'add', '-A');
    await git(upstream, 'commit', '-q', '-m', 'a folder that looks like a git directory');
    // a plain clone, as the user would make it
    clone = path.join(work, 'clone');
    await git(work, 'clone', '-q', upstream, clone);
    evil = path.join(clone, 'evil');
    assert.ok(fs.existsSync(path.join(evil, 'config')), 'the clone carries the fake git directory');
  });

  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  afterEach(() => {
    // every test must leave no marker; a marker from one test must not hide another's
    const ran = fs.existsSync(marker);
    fs.rmSync(marker, { force: true });
    assert.equal(ran, false, 'the repository ran its ssh command');
  });

  it('the shape is a real attack: plain git inside the folder runs the command', () => {
    const r = spawnSync('git', ['cat-file', '-p', MISSING], { cwd: evil, env: { ...process.env, ...GIT_ENV } });
    assert.notEqual(r.status, 0);
    assert.equal(fs.existsSync(marker), true, 'plain git fetched lazily and ran core.sshCommand');
    fs.rmSync(marker);
  });

  it('nixos-generations lint of a file in the folder (shipped CLI) does not run it', () => {
    for (const cwd of [evil, clone, work]) {
      const r = spawnSync(process.execPath, [CLI, 'lint', path.join(evil, 'configuration.nix')], {
        cwd,
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.ok(r.status === 0 || r.status === 1, `lint ended normally: ${r.status} ${r.stderr}`);
      assert.equal(fs.existsSync(marker), false, `lint from ${cwd} ran the repository's command`);
    }
    const dir = spawnSync(process.execPath, [CLI, 'lint', evil, '--base', 'HEAD~0'], { cwd: evil, encoding: 'utf8' });
    assert.ok(dir.status === 0 || dir.status === 1, dir.stderr);
  });

  it("the language server's lint service does not run it", async () => {
    const service = new LintService({ base: 'HEAD', runDir: '' });
    const result = await service.lintProjectOf(path.join(evil, 'configuration.nix'));
    assert.ok(result.byFile instanceof Map);
  });

  it('finds the clone as the repository, never the folder that looks like one', async () => {
    const { repo, refused } = await openRepository(evil);
    assert.equal(refused, null);
    assert.deepEqual(repo, { top: clone, gitDir: path.join(clone, '.git') });
    const outside = await openRepository(evil, evil);
    assert.equal(outside.repo, undefined, 'not above the ceiling');
  });

  it('even pointed at the folder itself, no git call of the project reaches a transport', async () => {
    const folder: GitRepository = { top: evil, gitDir: evil };
    for (const args of [
      ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'],
      ['cat-file', '-p', MISSING],
      ['show', `${MISSING}:configuration.nix`],
      ['fetch', 'origin'],
      ['fetch', 'ext::sh -c touch% /dev/null'],
    ]) {
      const r = await runGit(folder, args, { input: `${MISSING}\n`, timeoutMs: 20_000 });
      assert.notEqual(r.exitCode, 0, args.join(' '));
    }
    // each layer alone: without GIT_NO_LAZY_FETCH the protocol settings still stop the fetch
    const env = gitEnvironment();
    delete env.GIT_NO_LAZY_FETCH;
    const lazy = await runProcess(gitArgv(folder, 'cat-file', '-p', MISSING), { baseEnv: env, cwd: evil });
    assert.match(lazy.stderr, /not allowed|lazy fetching disabled/);
    // and with a hostile GIT_SSH_COMMAND / GIT_DIR in our own environment, those are dropped
    const hostileEnv = {
      ...process.env,
      GIT_SSH_COMMAND: `touch '${marker}'`,
      GIT_DIR: evil,
      GIT_ALLOW_PROTOCOL: 'ssh',
    };
    const clean = await runGit(null, ['ls-remote', 'ssh://example.invalid/x.git'], { baseEnv: hostileEnv, cwd: work });
    assert.notEqual(clean.exitCode, 0);
    assert.match(clean.stderr, /not allowed/);
  });

  it('refuses a repository whose own .git is a partial clone, and says so', async () => {
    const tarball = path.join(work, 'tarball');
    fs.mkdirSync(tarball);
    await git(tarball, 'init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(tarball, 'configuration.nix'), '{ ... }: { system.stateVersion = "24.05"; }\n');
    await git(tarball, 'add', '-A');
    await git(tarball, 'commit', '-q', '-m', 'x');
    fs.appendFileSync(path.join(tarball, '.git', 'config'), promisorConfig(marker).replace(/^\[core\][^[]*/, ''));
    const { repo, refused } = await openRepository(tarball);
    assert.equal(repo, undefined);
    assert.match(refused ?? '', /partial clone/);
    const r = spawnSync(process.execPath, [CLI, 'lint', '--base', 'HEAD', tarball], { encoding: 'utf8' });
    assert.match(r.stdout + r.stderr, /partial clone/);
    await assert.rejects(
      checkoutRevision({ repoDir: tarball, revision: 'a'.repeat(40), generation: 1 }),
      /partial clone/,
    );
  });

  it('checks out a generation without running the repository hooks', async () => {
    const repoDir = path.join(work, 'hooked');
    fs.mkdirSync(repoDir);
    await git(repoDir, 'init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(repoDir, 'flake.nix'), '{ outputs = _: { }; }\n');
    await git(repoDir, 'add', '-A');
    await git(repoDir, 'commit', '-q', '-m', 'x');
    const head = await git(repoDir, 'rev-parse', 'HEAD');
    const hook = path.join(repoDir, '.git', 'hooks', 'post-checkout');
    fs.writeFileSync(hook, `#!/bin/sh\ntouch '${marker}'\n`, { mode: 0o755 });
    const result = await checkoutRevision({ repoDir, revision: head, generation: 1 });
    assert.equal(result.commit, head);
    assert.ok(fs.existsSync(path.join(result.worktree, 'flake.nix')));
  });
});
