/**
 * Remote commands through a login shell that is not POSIX: the test sshd logs in as a user whose shell is Debian's
 * fish (created by scripts/install-test-deps.sh). sshd runs every remote command through that shell, and fish reads
 * `\'` inside single quotes as an escape, so a command line quoted for sh means something else there. Through
 * `runOnTarget`, the login shell only ever sees `/bin/sh -s`: hostile words must arrive byte for byte, and nothing
 * in them may run.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess } from '../../src/core/exec/process';
import { shellJoin } from '../../src/core/exec/quote';
import { closeSharedConnections, controlDirectory, runOnTarget, type Target } from '../../src/core/target';
import { FISH_USER, startSshd, type TestSshd } from '../lib/sshd';

describe('security: remote commands under a fish login shell (real sshd)', function () {
  this.timeout(120_000);
  let sshd: TestSshd;
  let target: Target;
  let marks: string;

  before(async () => {
    sshd = await startSshd({ user: FISH_USER });
    target = { kind: 'ssh', host: sshd.destination, port: sshd.port, sshArgs: sshd.clientArgs };
    marks = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-fish-marks-'));
    fs.chmodSync(marks, 0o777);
  });

  after(async () => {
    await sshd?.stop();
    if (marks) fs.rmSync(marks, { recursive: true, force: true });
  });

  const hostile = (): string[] => {
    const touch = `touch ${marks}/ran`;
    return [
      "it's",
      "a\\'b",
      "\\'; " + touch + "; echo '",
      `$(${touch})`,
      `(${touch})`,
      `\`${touch}\``,
      `x; ${touch}`,
      'line\nbreak',
      '"dq" \\ back',
      '*',
      '{a,b}',
      '~',
      '%self',
      '',
      '-rf',
    ];
  };

  it('really logs in through fish (the shell that breaks sh quoting)', async () => {
    const sshArgv = ['ssh', ...sshd.clientArgs, '-p', String(sshd.port), '-T', '--', sshd.destination];
    const version = await runProcess([...sshArgv, 'echo $FISH_VERSION']);
    assert.equal(version.exitCode, 0, version.stderr);
    assert.match(version.stdout, /^\d+\.\d+/, 'the login shell is fish');
    // the old way, one command line quoted for sh: fish does not read back the same words
    const words = hostile();
    const old = await runProcess([...sshArgv, shellJoin(['printf', '%s\\0', ...words])]);
    assert.notEqual(old.stdout, words.map((w) => `${w}\0`).join(''), 'sh quoting is not fish quoting');
  });

  it('passes hostile words to the remote command byte for byte, and runs none of them', async () => {
    const words = hostile();
    const r = await runOnTarget(target, ['printf', '%s\\0', ...words], { env: { NIXGEN_X: "v'\\'w" } });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\0').slice(0, -1), words);
    const env = await runOnTarget(target, ['sh', '-c', 'printf %s "$NIXGEN_X"'], { env: { NIXGEN_X: "v'\\'w" } });
    assert.equal(env.stdout, "v'\\'w");
    const who = await runOnTarget(target, ['id', '-un']);
    assert.equal(who.stdout.trim(), FISH_USER);
    assert.equal(fs.existsSync(path.join(marks, 'ran')), false, 'no hostile word ran');
  });

  it('reuses one private ControlMaster connection when asked, and closes it', async () => {
    const shared: Target = { ...target, reuse: true } as Target;
    const first = await runOnTarget(shared, ['echo', 'one']);
    const second = await runOnTarget(shared, ['echo', 'two']);
    assert.deepEqual([first.stdout, second.stdout], ['one\n', 'two\n'], first.stderr + second.stderr);
    const dir = controlDirectory();
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700, 'the socket directory is private');
    const sockets = fs.readdirSync(dir);
    assert.equal(sockets.length, 1, 'one master socket for the host');
    await closeSharedConnections(shared);
    const until = Date.now() + 5000;
    while (fs.readdirSync(dir).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(fs.readdirSync(dir), [], 'the master exited');
  });
});
