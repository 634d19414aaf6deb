/**
 * Fault trials of `transition postgresql` on real servers with real rows. Each fault is tried NIXGEN_TRIALS times
 * (CI: 1; scripts/transition-fault-trials.sh: 10): the run killed mid-way (SIGKILL at a random moment, then
 * --resume), a reboot between steps (the CLI and every server killed, /tmp sockets gone, then --resume), the disk
 * of the new data directory filling up (a small tmpfs filled by another writer), the upgrade tool failing (the real
 * pg_upgrade killed part-way), and the connection dropped (the CLI run over a real ssh connection that is cut).
 * Every trial checks with an oracle independent of the product (counts and md5 of ordered contents) that the old
 * cluster is intact and that, once the run or its resume/retry finishes, the new cluster holds every row.
 * Trials alternate between pg_upgrade 14 → 15 (prepared old bindir, see test/lib/postgres.ts) and dump and
 * restore 15 → 16. NIXGEN_TRIALS_REPORT=FILE appends one JSON line per trial.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runProcess } from '../../src/core/exec/process';
import { readJournal } from '../../src/core/transitions/journal';
import { targetInvocation } from '../../src/core/target';
import {
  baseArgs,
  CLI,
  DEBIAN_15,
  initCluster,
  killCli,
  pgBin,
  PG_TEST_USER,
  preparedOld14Bindir,
  readJournalQuietly,
  rowsOf,
  seed,
  snapshotOf,
  startCluster,
  stopCluster,
  testUser,
  transitionCli,
  workDir,
  type TestCluster,
} from '../lib/postgres';
import { startSshd, type TestSshd } from '../lib/sshd';

const TRIALS = Math.max(1, Number(process.env.NIXGEN_TRIALS ?? 1) || 1);
const REPORT = process.env.NIXGEN_TRIALS_REPORT;

interface Template {
  major: 14 | 15;
  data: string;
  before: Record<string, string>;
}

type Route = { from: Template; to: 15 | 16; method: 'upgrade' | 'dump' };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}

function record(row: Record<string, unknown>): void {
  if (REPORT) fs.appendFileSync(REPORT, `${JSON.stringify(row)}\n`);
}

describe(`transition postgresql fault trials (${TRIALS} per fault)`, function () {
  this.timeout(3_600_000);
  let root: string;
  let t14: Template;
  let t15: Template;
  let port = 56000;
  const routes = (): Route[] => [
    { from: t14, to: 15, method: 'upgrade' },
    { from: t15, to: 16, method: 'dump' },
  ];

  before(() => {
    root = workDir('faults');
    for (const major of [14, 15] as const) {
      const c = initCluster(major, path.join(root, `template-${major}`), root, 55900 + major);
      startCluster(c);
      try {
        seed(c);
      } finally {
        stopCluster(c);
      }
      const t = { major, data: c.data, before: snapshotOf(c) };
      assert.ok(rowsOf(t.before) > 33_000);
      if (major === 14) t14 = t;
      else t15 = t;
    }
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  // Each trial's copy (clusters, backups) goes as soon as the trial ends: a campaign would otherwise keep gigabytes.
  const trialDirs: string[] = [];
  afterEach(() => {
    for (const d of trialDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  /** A trial's own copy of the seeded old cluster, and the CLI arguments to migrate it. */
  async function trial(label: string, route: Route) {
    port += 10;
    const dir = fs.mkdtempSync(path.join(root, `${label}-`));
    trialDirs.push(dir);
    fs.chmodSync(dir, 0o755);
    const { uid, gid } = testUser();
    fs.chownSync(dir, uid, gid);
    const oldData = path.join(dir, `data-${route.from.major}`);
    const cp = await runProcess(['cp', '-a', route.from.data, oldData]);
    assert.equal(cp.exitCode, 0, cp.stderr);
    const old: TestCluster = {
      major: route.from.major,
      bin: pgBin(route.from.major),
      data: oldData,
      socketDir: dir,
      port,
    };
    const oldBin = route.method === 'upgrade' ? preparedOld14Bindir(path.join(dir, 'bin14')) : old.bin;
    const args = [...baseArgs(dir, { ...old, bin: oldBin }, route.to, port), '--method', route.method];
    const fresh: TestCluster = {
      major: route.to,
      bin: pgBin(route.to),
      data: path.join(dir, `data-${route.to}`),
      socketDir: dir,
      port: port + 5,
    };
    const journalFile = path.join(dir, 'journal', 'postgresql.json');
    return { dir, old, args, fresh, journalFile };
  }

  /** The oracle: the old cluster as before; the new one (when the transition says done) with every row. */
  function assertNoLoss(t: Awaited<ReturnType<typeof trial>>, route: Route, expectDone: boolean): void {
    assert.deepEqual(snapshotOf(t.old), route.from.before, 'the old cluster is intact');
    const journal = readJournal(t.journalFile)!;
    if (expectDone) {
      assert.equal(journal.state, 'done');
      assert.deepEqual(snapshotOf(t.fresh), route.from.before, 'the new cluster holds every row');
    } else {
      assert.notEqual(journal.state, 'done');
      assert.equal(fs.existsSync(t.fresh.data), false, 'no half-made new cluster is left');
    }
  }

  for (let i = 0; i < TRIALS; i++) {
    it(`killed mid-way (trial ${i + 1}): SIGKILL at a random moment, then --resume`, async () => {
      const route = routes()[i % 2]!;
      const t = await trial(`kill${i}`, route);
      const started = Date.now();
      const child = runProcess([process.execPath, CLI, 'transition', 'postgresql', ...t.args], { timeoutMs: 600_000 });
      // A moment between the first journal write and the end of the run, spread over the steps by the trial number.
      const delay = 300 + ((i * 1777) % 9000);
      await waitFor(() => readJournalQuietly(t.journalFile) !== null, 120_000);
      await sleep(delay);
      const at =
        readJournalQuietly(t.journalFile)?.steps.find((s) => s.status === 'running')?.id ?? 'between steps or finished';
      killCli(t.journalFile);
      const first = await child;
      let resumed = false;
      if (first.exitCode !== 0) {
        assert.equal(first.signal, 'SIGKILL');
        const r = await transitionCli(['--journal', t.journalFile, '--resume'], 600_000);
        assert.equal(r.exitCode, 0, r.stderr);
        resumed = true;
      }
      assertNoLoss(t, route, true);
      record({
        fault: 'killed',
        trial: i + 1,
        method: route.method,
        killedAt: at,
        resumed,
        ok: true,
        seconds: (Date.now() - started) / 1000,
      });
    });
  }

  for (let i = 0; i < TRIALS; i++) {
    it(`reboot between steps (trial ${i + 1}): CLI and servers killed, sockets gone, then --resume`, async () => {
      const route = routes()[i % 2]!;
      const t = await trial(`reboot${i}`, route);
      const boundaries = ['inventory', 'stop', 'backup', 'migrate', 'verify'];
      const after = boundaries[i % boundaries.length]!;
      const child = runProcess([process.execPath, CLI, 'transition', 'postgresql', ...t.args], { timeoutMs: 600_000 });
      const reached = await waitFor(
        () => readJournalQuietly(t.journalFile)?.steps.find((s) => s.id === after)?.status === 'done',
        300_000,
      );
      assert.ok(reached, `the run reached the end of ${after}`);
      // The "reboot": every process of the run dies at once; /tmp (the private socket directory) is emptied.
      const journal = readJournalQuietly(t.journalFile)!;
      killCli(t.journalFile);
      await child;
      await runProcess(['pkill', '-KILL', '-u', PG_TEST_USER, '-f', t.dir]);
      const state = journal.state;
      const r = await transitionCli(['--journal', t.journalFile, '--resume'], 600_000);
      if (state === 'done') assert.match(r.stdout, /already migrated and verified/);
      assert.equal(r.exitCode, 0, r.stderr);
      assertNoLoss(t, route, true);
      record({ fault: 'reboot', trial: i + 1, method: route.method, after, ok: true });
    });
  }

  for (let i = 0; i < TRIALS; i++) {
    it(`disk filling up (trial ${i + 1}): the new data directory's tmpfs filled during the run, then a retry`, async () => {
      const route = routes()[i % 2]!;
      const t = await trial(`disk${i}`, route);
      const mnt = path.join(t.dir, 'small');
      fs.mkdirSync(mnt);
      const mount = await runProcess(['mount', '-t', 'tmpfs', '-o', 'size=160m,mode=0755', 'tmpfs', mnt]);
      assert.equal(mount.exitCode, 0, `mounting a tmpfs needs root: ${mount.stderr}`);
      try {
        const newData = path.join(mnt, `data-${route.to}`);
        const args = [...t.args];
        args[args.indexOf('--new-data') + 1] = newData;
        t.fresh = { ...t.fresh, data: newData };
        const child = runProcess([process.execPath, CLI, 'transition', 'postgresql', ...args], { timeoutMs: 600_000 });
        // Another writer fills the disk once the new cluster is being made.
        await waitFor(
          () => readJournalQuietly(t.journalFile)?.steps.find((s) => s.id === 'migrate')?.status === 'running',
          300_000,
        );
        await sleep((i * 211) % 800);
        const filler = await runProcess(['dd', 'if=/dev/zero', `of=${path.join(mnt, 'filler')}`, 'bs=1M']);
        const r = await child;
        const failed = r.exitCode !== 0;
        const why = r.stderr.split('\n').find((l) => /stopped at|refused|not enough/.test(l)) ?? '';
        if (failed) {
          assert.equal(readJournal(t.journalFile)!.state, 'recovered', r.stderr);
          assertNoLoss(t, route, false);
        } else {
          assertNoLoss(t, route, true);
        }
        // The disk freed again: a fresh run succeeds (nothing half-made is in its way).
        fs.rmSync(path.join(mnt, 'filler'), { force: true });
        if (failed) {
          const retry = await transitionCli(args, 600_000);
          assert.equal(retry.exitCode, 0, retry.stderr);
          assertNoLoss(t, route, true);
        }
        record({
          fault: 'disk-full',
          trial: i + 1,
          method: route.method,
          failedThenRetried: failed,
          filled: filler.stderr.includes('No space'),
          why: why.slice(0, 160),
          ok: true,
        });
      } finally {
        await runProcess(['umount', '-l', mnt]);
      }
    });
  }

  for (let i = 0; i < TRIALS; i++) {
    it(`upgrade tool failing (trial ${i + 1}): the real pg_upgrade killed part-way, recovery, then a retry`, async () => {
      const route: Route = { from: t14, to: 15, method: 'upgrade' };
      const t = await trial(`tool${i}`, route);
      // A new bindir whose pg_upgrade is the real one, killed after a trial-dependent time.
      const bin15 = path.join(t.dir, 'bin15');
      fs.mkdirSync(bin15);
      for (const n of fs.readdirSync(DEBIAN_15))
        if (n !== 'pg_upgrade') fs.symlinkSync(path.join(DEBIAN_15, n), path.join(bin15, n));
      const ms = 100 + ((i * 389) % 2500);
      fs.writeFileSync(
        path.join(bin15, 'pg_upgrade'),
        `#!/bin/sh\n[ "$1" = "--version" ] && exec ${DEBIAN_15}/pg_upgrade --version\n` +
          `${DEBIAN_15}/pg_upgrade "$@" & pid=$!\nsleep ${(ms / 1000).toFixed(2)}\nkill -KILL $pid 2>/dev/null && { echo "pg_upgrade killed" >&2; exit 1; }\nwait $pid\n`,
        { mode: 0o755 },
      );
      const args = [...t.args];
      args[args.indexOf('--new-bin') + 1] = bin15;
      const r = await transitionCli(args, 600_000);
      const failed = r.exitCode !== 0;
      if (failed) {
        assert.match(r.stderr, /stopped at migrate/);
        assertNoLoss(t, route, false);
        const retry = await transitionCli(t.args, 600_000);
        assert.equal(retry.exitCode, 0, retry.stderr);
      }
      assertNoLoss(t, route, true);
      record({ fault: 'upgrade-tool-failing', trial: i + 1, killedAfterMs: ms, failedThenRetried: failed, ok: true });
    });
  }

  describe('connection dropped', () => {
    let sshd: TestSshd;
    before(async () => {
      sshd = await startSshd();
    });
    after(async () => {
      await sshd?.stop();
    });

    for (let i = 0; i < TRIALS; i++) {
      it(`connection dropped (trial ${i + 1}): the ssh client killed mid-way; the run goes on on the target`, async () => {
        const route = routes()[i % 2]!;
        const t = await trial(`conn${i}`, route);
        const inv = targetInvocation(
          { kind: 'ssh', host: sshd.destination, port: sshd.port, sshArgs: sshd.clientArgs },
          [process.execPath, CLI, 'transition', 'postgresql', ...t.args],
        );
        const ssh = spawn(inv.argv[0]!, inv.argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
        ssh.stdin.end(inv.input);
        ssh.stdout.resume();
        ssh.stderr.resume();
        await waitFor(() => readJournalQuietly(t.journalFile) !== null, 120_000);
        await sleep(200 + ((i * 1303) % 6000));
        const at =
          readJournalQuietly(t.journalFile)?.steps.find((s) => s.status === 'running')?.id ??
          'between steps or finished';
        ssh.kill('SIGKILL');
        // The target side finishes on its own; the journal says so once its lock is released.
        const ended = await waitFor(() => !fs.existsSync(`${t.journalFile}.lock`), 600_000);
        assert.ok(ended, 'the run on the target ended');
        let resumed = false;
        if (readJournal(t.journalFile)!.state !== 'done') {
          const r = await transitionCli(['--journal', t.journalFile, '--resume'], 600_000);
          assert.equal(r.exitCode, 0, r.stderr);
          resumed = true;
        }
        assertNoLoss(t, route, true);
        record({ fault: 'connection-dropped', trial: i + 1, method: route.method, droppedAt: at, resumed, ok: true });
      });
    }
  });
});
