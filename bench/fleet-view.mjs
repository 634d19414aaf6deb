// Benchmark: the explorer's fleet read (core/fleet/view readFleet, as the tree runs it: each machine over one reused
// ssh connection, closure sizes and drift included, each delivered as it answers) for 1, 3 and 10 real machines
// (systemd + sshd in containers, test/lib/machines). Times the first machine's rows (first delivery that is not
// "reading…") and the whole read; medians of R rounds. The CLI side by side with the Nix peer: bench/fleet-list.mjs.
//
//   node bench/fleet-view.mjs [--rounds R] [--counts 1,3,10] [--generations G] [--idx FIRST]
//
// Needs root, scripts/install-test-deps.sh and `npm run compile`. Machines use IDX FIRST..FIRST+9 (default 14).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { bootMachines, stopMachines } = require(path.join(ROOT, 'out/test/lib/machines.js'));
const { buildFleetSystems, fleetBinds, installFleetProfile, makeFleetProfile } = require(
  path.join(ROOT, 'out/test/lib/fleet.js'),
);
const { readFleet } = require(path.join(ROOT, 'out/src/core/fleet/view.js'));
const { workspaceMachines } = require(path.join(ROOT, 'out/src/core/fleet/machines.js'));
const { closeSharedConnections } = require(path.join(ROOT, 'out/src/core/target/index.js'));

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : args[i + 1];
};
const rounds = Number(opt('rounds', '5'));
const counts = opt('counts', '1,3,10').split(',').map(Number);
const generations = Number(opt('generations', '5'));
const first = Number(opt('idx', '14'));
const max = Math.max(...counts);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-bench-view-'));
const names = Array.from({ length: max }, (_, i) => `view${i}`);
let machines = [];
try {
  const specs = names.flatMap((host, i) =>
    Array.from({ length: generations }, (_, g) => ({
      host,
      n: g + 1,
      release: g === 0 ? '24.05' : '24.11',
      address: `10.99.${first + i}.2/24`,
      rev: g % 2 ? 'a'.repeat(40) : null,
    })),
  );
  const paths = buildFleetSystems(specs);
  names.forEach((host, i) =>
    makeFleetProfile(path.join(work, host), paths.slice(i * generations, (i + 1) * generations)),
  );
  machines = await bootMachines(
    names.map((name, i) => ({ name, idx: first + i, binds: fleetBinds(path.join(work, name)) })),
  );
  for (const m of machines) await installFleetProfile(m);
  const sshArgs = machines[0].sshArgs;
  const rows = [];
  for (const n of counts) {
    const setting = Object.fromEntries(machines.slice(0, n).map((m) => [m.name, m.destination]));
    const list = workspaceMachines({ setting, fleet: null });
    const once = async () => {
      const t0 = process.hrtime.bigint();
      let firstMs = null;
      const results = await readFleet(
        list,
        () => undefined,
        (d) => {
          if (d.remote.status !== 'loading') firstMs ??= Number(process.hrtime.bigint() - t0) / 1e6;
        },
        { sshArgs },
      );
      const totalMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const bad = results.filter((d) => d.remote.status !== 'reachable');
      if (bad.length > 0) throw new Error(`unreachable: ${bad.map((d) => d.remote.unreachable?.message).join('; ')}`);
      return { firstMs, totalMs };
    };
    // a cold read (no shared connection yet), then warm ones (the view's refresh reuses the connections)
    const cold = await once();
    const warm = [];
    for (let r = 0; r < rounds; r++) warm.push(await once());
    rows.push({
      machines: n,
      coldFirstMs: cold.firstMs,
      coldTotalMs: cold.totalMs,
      warmFirstMs: median(warm.map((x) => x.firstMs)),
      warmTotalMs: median(warm.map((x) => x.totalMs)),
    });
    for (const m of machines.slice(0, n)) {
      await closeSharedConnections({ kind: 'ssh', host: m.destination, sshArgs, reuse: true });
    }
  }
  console.log(`machines  cold first  cold total  refresh first  refresh total   (refresh: median of ${rounds})`);
  for (const r of rows) {
    const f = (x) => `${Math.round(x)} ms`.padStart(10);
    console.log(
      `${String(r.machines).padStart(8)}  ${f(r.coldFirstMs)}  ${f(r.coldTotalMs)}  ${f(r.warmFirstMs).padStart(13)}  ${f(r.warmTotalMs).padStart(13)}`,
    );
  }
} finally {
  await stopMachines(machines);
  fs.rmSync(work, { recursive: true, force: true });
}
