import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runChecked, runProcess, SpawnError } from '../../../src/core/exec/process';
import { HOSTILE } from '../../lib/samples';

/**
 * True while a process of that id runs. A killed process whose parent died first waits, as a zombie, for PID 1 to
 * reap it, and PID 1 on these machines reaps late: `kill(pid, 0)` still succeeds then, so a zombie counts as dead.
 */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the command name, which is in parentheses and may itself hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

describe('runProcess (execa)', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-process-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('passes every argument as it is, never through a shell', async () => {
    const r = await runProcess(['/bin/sh', '-c', 'printf "%s\\0" "$@"', 'sh', ...HOSTILE]);
    assert.equal(r.exitCode, 0);
    assert.deepEqual(r.stdout.split('\0').slice(0, -1), HOSTILE);
  });

  it('reports the exit code, both streams untouched (final newline kept), and no timeout', async () => {
    const r = await runProcess(['/bin/sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual(r, {
      exitCode: 3,
      signal: null,
      stdout: 'out\n',
      stderr: 'err\n',
      timedOut: false,
      truncated: false,
    });
  });

  it('writes the input to stdin, and gives /dev/null without it', async () => {
    assert.equal((await runProcess(['cat'], { input: 'α\nβ' })).stdout, 'α\nβ');
    const none = await runProcess(['/bin/sh', '-c', 'readlink /proc/self/fd/0; cat']);
    assert.equal(none.stdout, '/dev/null\n');
  });

  it('replaces the environment with baseEnv plus env, and runs in cwd', async () => {
    const r = await runProcess(['/bin/sh', '-c', 'echo "$A|$B|${HOME-unset}"; pwd'], {
      baseEnv: { PATH: process.env.PATH, A: 'base' },
      env: { B: 'extra' },
      cwd: tmp,
    });
    assert.equal(r.stdout, `base|extra|unset\n${fs.realpathSync(tmp)}\n`);
  });

  it('on timeout kills the whole process group, so a background child holding the pipes does not keep it waiting', async () => {
    const pidFile = path.join(tmp, 'pid');
    const started = Date.now();
    const r = await runProcess(['/bin/sh', '-c', `sleep 60 & echo $! > ${pidFile}; echo started; wait`], {
      timeoutMs: 2000, // ample time to start the background sleep even on a loaded machine
    });
    assert.ok(Date.now() - started < 20_000, 'returned long before the background sleep would end');
    assert.equal(r.timedOut, true);
    assert.equal(r.exitCode, null);
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.stdout, 'started\n');
    const grandchild = Number(fs.readFileSync(pidFile, 'utf8'));
    assert.ok(await waitUntil(() => !alive(grandchild), 5000), 'the background sleep was killed too');
  });

  it('a cancelled signal kills the process group; an already aborted one never lets it run', async () => {
    const pidFile = path.join(tmp, 'pid');
    const controller = new AbortController();
    const run = runProcess(['/bin/sh', '-c', `sleep 60 & echo $! > ${pidFile}; wait`], { signal: controller.signal });
    assert.ok(await waitUntil(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').endsWith('\n'), 10_000));
    controller.abort();
    const r = await run;
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.timedOut, false);
    const grandchild = Number(fs.readFileSync(pidFile, 'utf8'));
    assert.ok(await waitUntil(() => !alive(grandchild), 5000), 'the background sleep was killed too');

    const marker = path.join(tmp, 'ran');
    const early = await runProcess(['/bin/sh', '-c', `touch ${marker}`], { signal: AbortSignal.abort() });
    assert.deepEqual(early, {
      exitCode: null,
      signal: null,
      stdout: '',
      stderr: 'cancelled before it started\n',
      timedOut: false,
      truncated: false,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(fs.existsSync(marker), false);
  });

  it('keeps at most maxOutputBytes of a stream and says it was truncated', async () => {
    const r = await runProcess(['/bin/sh', '-c', 'head -c 100000 /dev/zero | tr "\\0" x; echo done >&2'], {
      maxOutputBytes: 1000,
    });
    assert.equal(r.truncated, true);
    assert.ok(r.stdout.length <= 1000 && r.stdout.length > 0, `kept ${r.stdout.length}`);
    assert.match(r.stdout, /^x+$/);
    const exact = await runProcess(['printf', '1234567890'], { maxOutputBytes: 10 });
    assert.equal(exact.truncated, false);
    assert.equal(exact.stdout, '1234567890');
  });

  it('rejects with a SpawnError (and its code) only when the program cannot start', async () => {
    await assert.rejects(runProcess([path.join(tmp, 'missing')]), (error: unknown) => {
      assert.ok(error instanceof SpawnError);
      assert.equal(error.code, 'ENOENT');
      assert.match(error.message, /^cannot run .*missing: /);
      return true;
    });
    const script = path.join(tmp, 'not-executable');
    fs.writeFileSync(script, '#!/bin/sh\n');
    await assert.rejects(
      runProcess([script]),
      (error: unknown) => error instanceof SpawnError && error.code === 'EACCES',
    );
    await assert.rejects(runProcess([]), SpawnError);
  });

  it('runChecked rejects with the last lines of stderr when the exit code is not 0', async () => {
    await assert.rejects(
      runChecked(['/bin/sh', '-c', 'echo why >&2; exit 4']),
      /^Error: \/bin\/sh exited with 4: why$/,
    );
    assert.equal((await runChecked(['echo', 'fine'])).stdout, 'fine\n');
  });
});
