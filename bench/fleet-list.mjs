// Benchmark: listing the system generations of 1, 3 and 10 real machines (systemd + sshd in containers, see
// test/lib/machines/README.md) with `node dist/cli.js list --target-host M...` (each machine over one ssh
// connection, side by side, each printed as it answers) against the Nix peer: `nix-env --list-generations` run over
// ssh on every machine at once (what `nixos-rebuild list-generations` did before nixos-rebuild-ng). Times the first
// machine's rows on stdout (first byte) and the whole run; alternated run by run (ABBA), medians and ratios.
//
//   node bench/fleet-list.mjs [--rounds R] [--counts 1,3,10] [--generations G]
//
// Needs root, scripts/install-test-deps.sh and `npm run build && npm run compile`. Machines use IDX 100-109.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { bootMachines, stopMachines } = require(path.join(ROOT, 'out/test/lib/machines.js'));
const { buildFleetSystems, fleetBinds, installFleetProfile, makeFleetProfile } = require(
  path.join(ROOT, 'out/test/lib/fleet.js'),
);

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : args[i + 1];
};
const rounds = Number(opt('rounds', '9'));
const counts = opt('counts', '1,3,10').split(',').map(Number);
const generations = Number(opt('generations', '5'));
const max = Math.max(...counts);
// a user's shell rarely has these; they cost every Node process tens of ms
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
delete env.NODE_OPTIONS;

/** Runs argv; resolves {first, total} in ms (first: first byte on stdout). */
function timed(argv, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let first = null;
    const child = spawn(argv[0], argv.slice(1), { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.on('data', () => {
      first ??= Number(process.hrtime.bigint() - t0) / 1e6;
    });
    child.stderr.on('data', (b) => (err += b));
    child.on('close', (code) => {
      const total = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`));
      else resolve({ first: first ?? total, total });
    });
  });
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-bench-fleet-'));
const names = Array.from({ length: max }, (_, i) => `bench${i}`);
let machines = [];
try {
  const specs = names.flatMap((host, i) =>
    Array.from({ length: generations }, (_, g) => ({
      host,
      n: g + 1,
      release: g === 0 ? '24.05' : '24.11',
      address: `10.99.${100 + i}.2/24`,
      rev: g % 2 ? 'a'.repeat(40) : null,
    })),
  );
  const paths = buildFleetSystems(specs);
  names.forEach((host, i) =>
    makeFleetProfile(path.join(work, host), paths.slice(i * generations, (i + 1) * generations)),
  );
  machines = await bootMachines(
    names.map((name, i) => ({ name, idx: 100 + i, binds: fleetBinds(path.join(work, name)) })),
  );
  for (const m of machines) await installFleetProfile(m);
  const sshOpts = machines[0].sshOpts;
  const sshArgs = machines[0].sshArgs;
  const cli = path.join(ROOT, 'dist', 'cli.js');
  const peerScript =
    // every machine at once, each block printed as it answers, like ours
    'for h in "$@"; do (out=$(ssh ' +
    sshArgs.map((a) => `'${a}'`).join(' ') +
    ' -o BatchMode=yes "$h" nix-env -p /nix/var/nix/profiles/system --list-generations) && printf "%s:\\n%s\\n" "$h" "$out") & done; wait';
  const results = [];
  for (const n of counts) {
    const hosts = machines.slice(0, n).map((m) => m.destination);
    const ours = [process.execPath, cli, 'list', ...hosts.flatMap((h) => ['--target-host', h])];
    const peer = ['sh', '-c', peerScript, 'peer', ...hosts];
    await timed(ours, { NIX_SSHOPTS: sshOpts }); // warm-up: page cache, sshd
    await timed(peer);
    const a = [];
    const b = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [1, 0] : [0, 1]; // ABBA
      for (const which of order) {
        if (which === 0) a.push(await timed(ours, { NIX_SSHOPTS: sshOpts }));
        else b.push(await timed(peer));
      }
    }
    const row = {
      machines: n,
      oursFirstMs: median(a.map((x) => x.first)),
      oursTotalMs: median(a.map((x) => x.total)),
      peerFirstMs: median(b.map((x) => x.first)),
      peerTotalMs: median(b.map((x) => x.total)),
    };
    row.ratioTotal = row.oursTotalMs / row.peerTotalMs;
    row.ratioFirst = row.oursFirstMs / row.peerFirstMs;
    results.push(row);
  }
  console.log(
    `machines  ours first  ours total  peer first  peer total  ratio first  ratio total   (median of ${rounds}, ${generations} generations each)`,
  );
  for (const r of results) {
    console.log(
      `${String(r.machines).padStart(8)}  ${r.oursFirstMs.toFixed(0).padStart(7)} ms  ${r.oursTotalMs.toFixed(0).padStart(7)} ms  ${r.peerFirstMs.toFixed(0).padStart(7)} ms  ${r.peerTotalMs.toFixed(0).padStart(7)} ms  ${r.ratioFirst.toFixed(2).padStart(11)}  ${r.ratioTotal.toFixed(2).padStart(11)}`,
    );
  }
  fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(ROOT, 'bench', 'results', `fleet-list-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
    JSON.stringify({ rounds, generations, results }, null, 2),
  );
} finally {
  await stopMachines(machines);
  fs.rmSync(work, { recursive: true, force: true });
}
