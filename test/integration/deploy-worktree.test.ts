/** Checking out a generation's configurationRevision in a git worktree, on real git repositories. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess } from '../../src/core/exec/process';
import { checkoutRevision } from '../../src/core/deploy/worktree';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};

async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await runProcess(['git', ...args], { cwd, env: GIT_ENV });
  assert.equal(r.exitCode, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

describe('check out a generation commit in a worktree', function () {
  this.timeout(60000);
  let base: string;
  let repo: string;
  let first: string;
  let second: string;

  beforeEach(async () => {
    base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-wt-')));
    repo = path.join(base, "my conf's $(x)");
    fs.mkdirSync(path.join(repo, 'hosts'), { recursive: true });
    await git(repo, 'init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(repo, 'hosts', 'flake.nix'), '{ outputs = _: { v = 1; }; }\n');
    await git(repo, 'add', '.');
    await git(repo, 'commit', '-q', '-m', 'one');
    first = await git(repo, 'rev-parse', 'HEAD');
    fs.writeFileSync(path.join(repo, 'hosts', 'flake.nix'), '{ outputs = _: { v = 2; }; }\n');
    await git(repo, 'commit', '-q', '-am', 'two');
    second = await git(repo, 'rev-parse', 'HEAD');
    // uncommitted work that must survive
    fs.writeFileSync(path.join(repo, 'hosts', 'flake.nix'), '{ outputs = _: { v = 3; }; } # editing\n');
    fs.writeFileSync(path.join(repo, 'untracked.nix'), 'draft\n');
  });
  afterEach(async () => {
    await runProcess(['git', 'worktree', 'prune'], { cwd: repo }).catch(() => undefined);
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('checks out the commit next to the repository without touching uncommitted work', async () => {
    const result = await checkoutRevision({
      repoDir: path.join(repo, 'hosts'),
      revision: first.slice(0, 7),
      generation: 12,
      env: GIT_ENV,
    });
    assert.equal(result.commit, first);
    assert.equal(result.reused, false);
    assert.equal(result.worktree, `${repo}.generation-12-${first.slice(0, 7)}`);
    assert.equal(result.flakeDir, path.join(result.worktree, 'hosts'));
    assert.equal(fs.readFileSync(path.join(result.flakeDir, 'flake.nix'), 'utf8'), '{ outputs = _: { v = 1; }; }\n');
    assert.equal(await git(result.worktree, 'rev-parse', 'HEAD'), first);
    // the user's checkout is as it was
    assert.equal(
      fs.readFileSync(path.join(repo, 'hosts', 'flake.nix'), 'utf8'),
      '{ outputs = _: { v = 3; }; } # editing\n',
    );
    assert.equal(fs.readFileSync(path.join(repo, 'untracked.nix'), 'utf8'), 'draft\n');
    assert.equal(await git(repo, 'rev-parse', 'HEAD'), second);
    assert.equal(await git(repo, 'symbolic-ref', '--short', 'HEAD'), 'main');

    const again = await checkoutRevision({ repoDir: repo, revision: first, generation: 12, env: GIT_ENV });
    assert.equal(again.reused, true);
    assert.equal(again.worktree, result.worktree);
  });

  it('accepts self.dirtyRev and says the build had uncommitted changes', async () => {
    const result = await checkoutRevision({ repoDir: repo, revision: `${second}-dirty`, generation: 3, env: GIT_ENV });
    assert.equal(result.dirty, true);
    assert.equal(result.commit, second);
  });

  it('explains what it cannot do', async () => {
    await assert.rejects(checkoutRevision({ repoDir: repo, revision: 'dirty', generation: 1 }), /records no commit/);
    await assert.rejects(
      checkoutRevision({ repoDir: repo, revision: '--output=/tmp/x', generation: 1 }),
      /not a git commit hash/,
    );
    await assert.rejects(
      checkoutRevision({ repoDir: repo, revision: 'deadbeefdeadbeef', generation: 1, env: GIT_ENV }),
      /is not in .*fetch it first/,
    );
    await assert.rejects(
      checkoutRevision({ repoDir: base, revision: first, generation: 1 }),
      /not in a git repository/,
    );
    const occupied = path.join(base, 'occupied');
    fs.mkdirSync(occupied);
    await assert.rejects(
      checkoutRevision({ repoDir: repo, revision: first, generation: 1, worktreeDir: occupied, env: GIT_ENV }),
      /already exists and is not a checkout/,
    );
  });
});
