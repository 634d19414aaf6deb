// Benchmark: `nixos-generations transition postgresql` (the shipped dist/cli.js) against the bare PostgreSQL tools
// doing the same migration without a plan, a backup, a journal or a verification, on the same seeded clusters,
// alternated round by round:
//   upgrade 14 → 15: ours (check, inventory, stop, copy of the data directory, initdb + pg_upgrade, verify)
//                    vs initdb + pg_upgrade alone (Debian 15's, with the prepared old bindir of the tests);
//   dump 15 → 16:    ours (check, inventory, per-database dumps, initdb + restore, verify)
//                    vs initdb + pg_dumpall | psql alone.
// The ratio is the price of the safety net. Needs root (servers run as the test user of install-test-deps.sh).
//
//   node bench/transition.mjs [--rounds R] [--scale S]     (S × ~33,500 rows; default 1)
//
// Results: a table on stdout and bench/results/transition-<time>.json.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, median, nodeTimingEnv, shippedCli } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : args[i + 1];
};
const rounds = Number(opt('rounds', '3'));
const scale = Number(opt('scale', '1'));
const USER = process.env.NIXGEN_PG_TEST_USER ?? 'nixgen-pg';
const PG15 = '/usr/lib/postgresql/15/bin';
const bin = (major) => (major === 15 ? PG15 : path.join(ROOT, 'node_modules', `pg${major}`, 'native', 'bin'));
const ENV = { PATH: process.env.PATH, PGTZ: 'UTC', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };

if (process.getuid() !== 0) {
  console.error('bench/transition.mjs: needs root (it runs the servers as the test user)');
  process.exit(2);
}
const ids = (flag) => Number(spawnSync('id', [flag, USER], { encoding: 'utf8' }).stdout);
const uid = ids('-u');
const gid = ids('-g');

function run(argv, { asUser = true, input, cwd } = {}) {
  const full = asUser ? ['runuser', '-u', USER, '--', ...argv] : argv;
  const r = spawnSync(full[0], full.slice(1), { encoding: 'utf8', input, cwd, env: ENV, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}
function timed(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const work = fs.mkdtempSync('/tmp/nixgen-bench-pg-');
fs.chmodSync(work, 0o755);
fs.chownSync(work, uid, gid);
process.on('exit', () => {
  for (const d of fs.readdirSync(work)) {
    const data = path.join(work, d);
    if (fs.existsSync(path.join(data, 'postmaster.pid'))) {
      spawnSync('runuser', ['-u', USER, '--', path.join(PG15, 'pg_ctl'), 'stop', '-D', data, '-m', 'immediate']);
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
});

const initdb = (major, data) =>
  run([path.join(bin(major), 'initdb'), '-D', data, '-E', 'UTF8', '--locale=C.UTF-8', '--auth=trust', '-U', USER]);
const start = (major, data, port) =>
  run([
    path.join(bin(major), 'pg_ctl'),
    'start',
    '-D',
    data,
    '-w',
    '-l',
    `${data}.log`,
    '-o',
    `-p ${port} -k ${work} -h ''`,
  ]);
const stop = (major, data) => run([path.join(bin(major), 'pg_ctl'), 'stop', '-D', data, '-m', 'fast', '-w']);
const psql = (port, db, sql) =>
  run([path.join(PG15, 'psql'), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', work, '-p', String(port), '-d', db], {
    input: sql,
  });

function seeded(major, port) {
  const data = path.join(work, `template-${major}`);
  initdb(major, data);
  start(major, data, port);
  const n = 10000 * scale;
  psql(port, 'postgres', 'CREATE DATABASE shop; CREATE DATABASE wiki;');
  psql(
    port,
    'shop',
    `CREATE TABLE customers (id serial PRIMARY KEY, name text, email text UNIQUE, created timestamptz);
     INSERT INTO customers (name, email, created) SELECT 'c ' || g, 'u' || g || '@example.org', now() FROM generate_series(1, ${n}) g;
     CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES customers, amount numeric(10,2), note jsonb);
     INSERT INTO orders (customer, amount, note) SELECT 1 + g % ${n}, g % 1000, jsonb_build_object('n', g) FROM generate_series(1, ${2 * n}) g;
     CREATE INDEX ON orders (customer);`,
  );
  psql(
    port,
    'wiki',
    `CREATE TABLE pages AS SELECT 'p' || g AS title, repeat('lorem ', g % 40) AS body FROM generate_series(1, ${3500 * scale}) g;`,
  );
  stop(major, data);
  return data;
}

const copy = (from, to) => run(['cp', '-a', from, to], { asUser: false });
const rm = (p) => fs.rmSync(p, { recursive: true, force: true });

// The prepared old bindir for pg_upgrade 15 on the npm 14 server (see test/lib/pg_resetwal-14-standin.sh).
const bin14 = path.join(work, 'bin14');
fs.mkdirSync(bin14);
for (const n of fs.readdirSync(bin(14))) fs.symlinkSync(path.join(bin(14), n), path.join(bin14, n));
fs.symlinkSync(path.join(PG15, 'pg_controldata'), path.join(bin14, 'pg_controldata'));
fs.copyFileSync(path.join(ROOT, 'test', 'lib', 'pg_resetwal-14-standin.sh'), path.join(bin14, 'pg_resetwal'));
fs.chmodSync(path.join(bin14, 'pg_resetwal'), 0o755);

const cli = shippedCli();
const t14 = seeded(14, 57101);
const t15 = seeded(15, 57102);
const sizeMb = (dir) => Number(run(['du', '-sm', dir], { asUser: false }).split('\t')[0]);
console.error(`seeded: 14 ${sizeMb(t14)} MB, 15 ${sizeMb(t15)} MB`);

function ours(method, template, oldBin, newMajor) {
  const old = path.join(work, 'old');
  const fresh = path.join(work, 'new');
  copy(template, old);
  const argv = [
    process.execPath,
    cli,
    'transition',
    'postgresql',
    '--old-bin',
    oldBin,
    '--new-bin',
    bin(newMajor),
    '--old-data',
    old,
    '--new-data',
    fresh,
    '--backup-dir',
    path.join(work, 'backups'),
    '--journal',
    path.join(work, 'journal', 'j.json'),
    '--run-as',
    USER,
    '--port',
    '57200',
    '--client-bin',
    PG15,
    '--method',
    method,
    '--yes',
  ];
  const ms = timed(() => {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: nodeTimingEnv(process.env) });
    if (r.status !== 0) throw new Error(`ours (${method}) exited ${r.status}: ${r.stderr}`);
  });
  rm(old);
  rm(fresh);
  rm(path.join(work, 'backups'));
  rm(path.join(work, 'journal'));
  return ms;
}

function bareUpgrade() {
  const old = path.join(work, 'old');
  const fresh = path.join(work, 'new');
  copy(t14, old);
  const ms = timed(() => {
    initdb(15, fresh);
    run(
      [
        path.join(PG15, 'pg_upgrade'),
        '-b',
        bin14,
        '-B',
        PG15,
        '-d',
        old,
        '-D',
        fresh,
        '-p',
        '57300',
        '-P',
        '57301',
        '-s',
        work,
        '-U',
        USER,
      ],
      { cwd: work },
    );
  });
  rm(old);
  rm(fresh);
  return ms;
}

function bareDump() {
  const old = path.join(work, 'old');
  const fresh = path.join(work, 'new');
  copy(t15, old);
  const ms = timed(() => {
    initdb(16, fresh);
    start(15, old, 57400);
    start(16, fresh, 57401);
    const dump = run([path.join(PG15, 'pg_dumpall'), '-h', work, '-p', '57400']);
    // as people run it: pg_dumpall | psql, which goes on past 'role … already exists'
    run([path.join(PG15, 'psql'), '-X', '-q', '-h', work, '-p', '57401', '-d', 'postgres'], { input: dump });
    stop(15, old);
    stop(16, fresh);
  });
  rm(old);
  rm(fresh);
  return ms;
}

const samples = { oursUpgrade: [], bareUpgrade: [], oursDump: [], bareDump: [] };
for (let r = 0; r < rounds; r++) {
  // ABBA: the order flips every round so a drift of the machine's load hits both sides alike.
  const pairs = [
    ['oursUpgrade', () => ours('upgrade', t14, bin14, 15)],
    ['bareUpgrade', bareUpgrade],
    ['oursDump', () => ours('dump', t15, bin(15), 16)],
    ['bareDump', bareDump],
  ];
  for (const [name, fn] of r % 2 ? [...pairs].reverse() : pairs) samples[name].push(fn());
  console.error(`round ${r + 1}/${rounds} done`);
}
const med = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
const rows = [
  ['upgrade 14 → 15', med.oursUpgrade, med.bareUpgrade],
  ['dump 15 → 16', med.oursDump, med.bareDump],
];
console.log(`transition postgresql vs the bare tools, ${rounds} rounds, ~${Math.round(33500 * scale)} rows (medians)`);
console.log('migration          ours (s)   bare tools (s)   ratio');
for (const [name, a, b] of rows) {
  console.log(
    `${name.padEnd(18)} ${(a / 1000).toFixed(2).padStart(8)}   ${(b / 1000).toFixed(2).padStart(14)}   ${(a / b).toFixed(2).padStart(5)}`,
  );
}
fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
const out = path.join(ROOT, 'bench', 'results', `transition-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(out, `${JSON.stringify({ rounds, scale, samplesMs: samples, medianMs: med }, null, 2)}\n`);
console.log(`results: ${out}`);
