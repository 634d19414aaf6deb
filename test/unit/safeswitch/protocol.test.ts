/**
 * The safe-switch protocol on this machine (target "local"): the real watchdog script with stand-in systems whose
 * switch-to-configuration only records its calls. Lock, revert request, stale locks and the argv sent over ssh.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess } from '../../../src/core/exec/process';
import {
  SAFE_SWITCH_SCRIPT,
  checkArgv,
  confirm,
  parseEvents,
  parseHealthChecks,
  parseReply,
  requestRevert,
  start,
  status,
  systemdRunArgv,
  transitionWords,
  targetInvocation,
  unitName,
  newSwitchId,
  type Target,
} from '../../../src/core/safeswitch';

const local: Target = { kind: 'local' };

function makeSystem(dir: string, name: string, log: string): string {
  const top = path.join(dir, name);
  fs.mkdirSync(path.join(top, 'bin'), { recursive: true });
  const stc = path.join(top, 'bin', 'switch-to-configuration');
  fs.writeFileSync(stc, `#!/bin/sh\nprintf '%s %s\\n' '${name}' "$1" >> '${log}'\n`);
  fs.chmodSync(stc, 0o755);
  return top;
}

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return pred();
}

describe('safe switch: the watchdog script on this machine', function () {
  this.timeout(30_000);
  let dir: string;
  let log: string;
  let oldTop: string;
  let newTop: string;
  let runDir: string;
  let stateDir: string;
  const calls = (): string[] => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);

  beforeEach(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-ss-unit-')));
    log = path.join(dir, 'stc.log');
    oldTop = makeSystem(dir, 'old', log);
    newTop = makeSystem(dir, 'new', log);
    runDir = path.join(dir, 'run');
    fs.mkdirSync(runDir);
    fs.symlinkSync(oldTop, path.join(runDir, 'current-system'));
    stateDir = path.join(dir, 'state');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('holds no backslash, so no shell quoting can alter it in transit', () => {
    assert.equal(SAFE_SWITCH_SCRIPT.includes('\\'), false);
  });

  it('activates with test, refuses a second switch, reverts on request with the reason, releases the lock', async () => {
    const a = await start(local, {
      id: 'a1',
      toplevel: newTop,
      confirmSeconds: 60,
      runDir,
      stateDir,
      launcher: 'detached',
    });
    assert.ok(a.ok, JSON.stringify(a));
    assert.equal(a.previous, oldTop);
    assert.equal(a.launcher, 'detached');
    const b = await start(local, {
      id: 'b2',
      toplevel: newTop,
      confirmSeconds: 60,
      runDir,
      stateDir,
      launcher: 'detached',
    });
    assert.deepEqual(b, { ok: false, busy: 'a1', message: 'another safe switch (a1) is running on the target' });
    assert.ok(await until(() => calls().length === 1, 5000));
    assert.ok(
      await until(() => fs.readFileSync(path.join(stateDir, 'a1', 'events'), 'utf8').includes(' waiting '), 5000),
    );
    await requestRevert(local, 'a1', 'because; $(touch x) "quoted"\nsecond line', { stateDir });
    assert.ok(await until(() => calls().length === 2, 5000), 'reverted');
    assert.deepEqual(calls(), ['new test', 'old test']);
    const s = await status(local, 'a1', { stateDir });
    const reverted = s.events.find((e) => e.event === 'reverted');
    assert.equal(reverted?.detail, 'because; $(touch x) "quoted" second line');
    assert.ok(await until(() => !fs.existsSync(path.join(stateDir, 'lock')), 5000), 'lock released');
    assert.equal(fs.existsSync(path.join(dir, 'x')), false);
    const late = await confirm(local, 'a1', path.join(dir, 'profile'), { stateDir });
    assert.deepEqual(late, {
      ok: false,
      tooLate: true,
      activeButNotDefault: false,
      message: 'too late: the target already reverted',
    });
  });

  it('reverts by itself at the deadline', async () => {
    const a = await start(local, {
      id: 'd1',
      toplevel: newTop,
      confirmSeconds: 1,
      runDir,
      stateDir,
      launcher: 'detached',
    });
    assert.ok(a.ok);
    assert.ok(await until(() => calls().length === 2, 10_000));
    const events = (await status(local, 'd1', { stateDir })).events;
    const waiting = Number(events.find((e) => e.event === 'waiting')!.detail);
    assert.ok(events.find((e) => e.event === 'reverting')!.at >= waiting);
    assert.match(events.find((e) => e.event === 'reverted')!.detail, /not confirmed within 1 s/);
  });

  it('reverts at once when the activation fails', async () => {
    fs.writeFileSync(
      path.join(newTop, 'bin', 'switch-to-configuration'),
      `#!/bin/sh\necho "new $1" >> '${log}'\nexit 7\n`,
    );
    const a = await start(local, {
      id: 'f1',
      toplevel: newTop,
      confirmSeconds: 60,
      runDir,
      stateDir,
      launcher: 'detached',
    });
    assert.ok(a.ok);
    assert.ok(await until(() => calls().length === 2, 5000));
    const events = (await status(local, 'f1', { stateDir })).events;
    assert.match(events.find((e) => e.event === 'reverted')!.detail, /exited with 7/);
    assert.equal(
      events.some((e) => e.event === 'waiting'),
      false,
    );
  });

  it('takes over a lock whose watchdog died, and says so', async () => {
    const a = await start(local, {
      id: 's1',
      toplevel: newTop,
      confirmSeconds: 60,
      runDir,
      stateDir,
      launcher: 'detached',
    });
    assert.ok(a.ok);
    process.kill(a.pid, 'SIGKILL');
    assert.ok(
      await until(
        () => !fs.existsSync(`/proc/${a.pid}`) || fs.readFileSync(`/proc/${a.pid}/stat`, 'utf8').split(' ')[2] === 'Z',
        5000,
      ),
    );
    const b = await start(local, {
      id: 's2',
      toplevel: newTop,
      confirmSeconds: 60,
      runDir,
      stateDir,
      launcher: 'detached',
    });
    assert.ok(b.ok, JSON.stringify(b));
    assert.equal(b.staleLock, 's1');
    await requestRevert(local, 's2', 'cleanup', { stateDir });
    assert.ok(await until(() => !fs.existsSync(path.join(stateDir, 'lock')), 5000));
  });

  it('refuses bad input with a message: unknown id, missing system, nothing activated', async () => {
    const bad = await start(local, { id: 'x/../y', toplevel: newTop, confirmSeconds: 5, runDir, stateDir });
    assert.deepEqual(bad, { ok: false, busy: null, message: 'invalid safe-switch id' });
    const missing = await start(local, {
      id: 'm1',
      toplevel: path.join(dir, 'nope'),
      confirmSeconds: 5,
      runDir,
      stateDir,
    });
    assert.equal(missing.ok, false);
    assert.match(missing.ok ? '' : missing.message, /switch-to-configuration is missing/);
    fs.unlinkSync(path.join(runDir, 'current-system'));
    const noPrev = await start(local, { id: 'm2', toplevel: newTop, confirmSeconds: 5, runDir, stateDir });
    assert.match(noPrev.ok ? '' : noPrev.message, /cannot find the activated system/);
    await assert.rejects(status(local, 'zz', { stateDir }), /no safe switch zz/);
    assert.equal(fs.existsSync(path.join(stateDir, 'lock')), false, 'no lock left behind');
  });
});

describe('safe switch: argv and parsing', () => {
  it('runs every ssh call on a fresh connection, host after --, the command on stdin for /bin/sh', async () => {
    const { argv, input } = targetInvocation(
      { kind: 'ssh', host: 'root@example', port: 2222, sshArgs: ['-i', '/k'] },
      ['sh', '-c', 'printf "%s|" "$@"', 'n', "it's", '$(x); `y` \\ "z"', ''],
      { env: { A_B: 'v w' }, elevate: ['sudo', '-n'] },
    );
    assert.equal(argv[0], 'ssh');
    assert.ok(argv.join(' ').includes('-o ControlMaster=no -o ControlPath=none'));
    const dd = argv.indexOf('--');
    assert.equal(argv[dd + 1], 'root@example');
    assert.deepEqual(argv.slice(dd + 2), ['/bin/sh -s'], 'the login shell sees only a fixed text');
    // what /bin/sh on the target makes of its stdin: the same words
    const r = await runProcess(['sh', '-s'], { input: input!.replace(/^exec sudo -n env /, 'exec env ') });
    assert.equal(r.stdout, `it's|$(x); \`y\` \\ "z"||`);
    assert.throws(
      () => targetInvocation({ kind: 'ssh', host: '-oProxyCommand=touch /tmp/p' }, ['true']),
      /starts with "-"/,
    );
    assert.throws(() => targetInvocation({ kind: 'ssh', host: 'a b' }, ['true']), /whitespace/);
    assert.throws(
      () => targetInvocation(local, ['true'], { env: { 'A=B': 'x' } }),
      /invalid environment variable name/,
    );
    assert.deepEqual(targetInvocation(local, ['true'], { env: { K: 'v' } }), { argv: ['env', 'K=v', 'true'] });
  });

  it('builds the systemd-run argv for a transient watchdog service', () => {
    assert.deepEqual(systemdRunArgv('20240101T000000-abcd', { NIX_PATH: 'a b' }), [
      'systemd-run',
      '--unit=nixgen-safe-switch-20240101T000000-abcd',
      '--description=NixOS Generations safe switch 20240101T000000-abcd (reverts unless confirmed)',
      '--collect',
      '--quiet',
      '--no-ask-password',
      '--service-type=exec',
      '--property=KillMode=mixed',
      '--setenv=NIX_PATH=a b',
      '--',
    ]);
    assert.match(unitName(newSwitchId()), /^nixgen-safe-switch-[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$/);
  });

  it('passes transition commands as counted words, and refuses a word with a line break', () => {
    assert.deepEqual(transitionWords(undefined), ['0', '0', '0', '0']);
    assert.deepEqual(transitionWords({ before: ['a', 'b c'], after: [], revert: ['d'], timeoutSeconds: 12.4 }), [
      '12',
      '2',
      '0',
      '1',
      'a',
      'b c',
      'd',
    ]);
    // only a revert command: nothing runs before the deadline, so no extra time
    assert.equal(transitionWords({ before: [], after: [], revert: ['d'], timeoutSeconds: 99 })[0], '0');
    assert.throws(() => transitionWords({ before: ['x\ny'], after: [], revert: [], timeoutSeconds: 1 }), /line break/);
  });

  it('parses replies and events, skipping garbage', () => {
    assert.deepEqual(
      [...parseReply('id=a\nlauncher=detached\nnoise\n=x\nprevious=/a=b\n')],
      [
        ['id', 'a'],
        ['launcher', 'detached'],
        ['previous', '/a=b'],
      ],
    );
    assert.deepEqual(parseEvents('1 started 5\nbad line\n2 waiting 3000\n3 reverted not confirmed within 3 s\n4 x'), [
      { at: 1, event: 'started', detail: '5' },
      { at: 2, event: 'waiting', detail: '3000' },
      { at: 3, event: 'reverted', detail: 'not confirmed within 3 s' },
      { at: 4, event: 'x', detail: '' },
    ]);
  });

  it('reads health checks from settings and passes values as arguments', () => {
    const { checks, problems } = parseHealthChecks([
      { unit: 'nginx.service' },
      { url: 'http://localhost/$(x)', timeoutSeconds: 3 },
      'curl -f http://x',
      { url: 'file:///etc/passwd' },
      42,
    ]);
    assert.deepEqual(checks, [
      { kind: 'unit', unit: 'nginx.service' },
      { kind: 'url', url: 'http://localhost/$(x)', timeoutSeconds: 3 },
      { kind: 'command', command: 'curl -f http://x' },
    ]);
    assert.equal(problems.length, 2);
    assert.deepEqual(checkArgv(checks[0]!), ['systemctl', 'is-active', '--quiet', '--', 'nginx.service']);
    const url = checkArgv(checks[1]!);
    assert.deepEqual(url.slice(-2), ['http://localhost/$(x)', '3']);
    assert.equal(url[2]!.includes('localhost'), false, 'the URL is not in the script text');
    assert.deepEqual(parseHealthChecks('x').problems, ['health checks must be a list']);
  });
});
