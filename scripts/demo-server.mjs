#!/usr/bin/env node
// The demo behind `npm run demo` (scripts/demo.sh builds first): a real VS Code in the browser (code-server, offline,
// from .vscode-test/) with the extension installed from a freshly packaged VSIX, looking at a real Nix profile of
// fake NixOS generations built by test/fixtures/nix-fixture/make-fixture.sh. Nothing touches the machine's own
// profiles or $HOME: the settings point nixosGenerations.profiles / runDir at the fixture.
//
//   node scripts/demo-server.mjs [--port P] [--generations N] [--rebuild-fixture]
//
// The fixture (N generations, default 30, plus 6 home-manager generations; the newest is the boot default, the one
// before it activated, the booted one has another kernel; the workspace is the git repository they were built
// from) is cached in .vscode-test/demo/ and reused. Ctrl-C stops it.
import fs from 'node:fs';
import path from 'node:path';
import {
  installVsix,
  makeRunDir,
  packageVsix,
  parseArgs,
  reexecUnderCleanup,
  resolveCodeServer,
  startCodeServer,
  usage,
  workbenchUrl,
} from '../test/lib/codeserver.mjs';
import { buildMachineFixture, readFixture, removeFixture, withMachine } from '../test/lib/fixture.mjs';

await reexecUnderCleanup(import.meta.url);

const opt = parseArgs(process.argv.slice(2), { port: '', generations: '30', 'rebuild-fixture': false, help: false });
if (opt.help) {
  process.stdout.write(usage(import.meta.url));
  process.exit(0);
}
const log = (...a) => console.error('[demo]', ...a);
const N = Number(opt.generations);
if (!Number.isInteger(N) || N < 3) {
  console.error('--generations must be a whole number >= 3');
  process.exit(2);
}

let cs;
try {
  cs = resolveCodeServer();
} catch (e) {
  console.error(`${e.message}\n(the demo uses the same offline VS Code as the tests)`);
  process.exit(1);
}
// the real path: Nix refuses a store below a symbolic link (a .vscode-test linked to a shared cache)
const demoDir = path.join(fs.realpathSync(cs.cache), 'demo');
fs.mkdirSync(demoDir, { recursive: true });

// 1. The machine, cached per size: a configuration repository (the workspace, whose commits the generations
//    record) and the generations built from it; activation moves run/current-system; the booted generation has
//    another kernel than the activated one (a reboot is needed). v2: the fixture format of this script.
const fixtureDir = path.join(demoDir, `fixture-v2-${N}`);
let fixture;
try {
  if (opt['rebuild-fixture']) removeFixture(fixtureDir);
  try {
    fixture = withMachine(readFixture(fixtureDir));
    if (!fs.existsSync(path.join(fixture.workspace, '.git'))) throw new Error('no configuration repository');
    log(`reusing the fixture in ${fixtureDir} (--rebuild-fixture makes a new one)`);
  } catch {
    removeFixture(fixtureDir);
    log(`building a fixture machine with ${N} generations in ${fixtureDir} ...`);
    fixture = buildMachineFixture(N, { dir: fixtureDir, env: { FIXTURE_HM: '6', FIXTURE_DATES: 'relative' } });
    log(`built in ${fixture.buildMs} ms`);
  }
} catch (e) {
  console.error(`could not build the demo fixture: ${e.message}`);
  process.exit(1);
}
const profiles = [fixture.profile];
if (fixture.hmProfile && fs.existsSync(fixture.hmProfile)) profiles.push(fixture.hmProfile);

// 2. The extension as a user gets it: a VSIX (dist/ was built by demo.sh).
const vsix = path.join(demoDir, 'nixos-generations.vsix');
try {
  packageVsix(vsix);
} catch (e) {
  console.error(e.message);
  process.exit(1);
}

// 3. The workspace to open: the fixture's configuration repository (Rebuild builds from it, Check Out finds the
//    generations' commits in it).
const workspace = fixture.workspace;

// 4. code-server with throwaway user data. The fixture goes into the remote machine settings: both settings are
//    machine-scoped, and code-server's window is a remote window (see makeRunDir).
const dirs = makeRunDir(
  path.join(demoDir, 'runs'),
  { 'workbench.colorTheme': 'Default Dark Modern' },
  {
    machineSettings: {
      'nixosGenerations.profiles': profiles,
      'nixosGenerations.runDir': fixture.runDir,
      // the fixture belongs to this user: nothing to elevate; nixos-rebuild is the fixture's stand-in
      'nixosGenerations.elevation': 'none',
      'nixosGenerations.rebuildCommand': fixture.rebuildCommand,
    },
  },
);
const stcLog = path.join(fixtureDir, 'switch-to-configuration.log');
let server;
let stopping;
const stop = (code) => {
  stopping ??= (async () => {
    if (server) await server.stop();
    dirs.dispose();
    process.exit(code);
  })();
  return stopping;
};
process.on('SIGINT', () => {
  log('stopping');
  void stop(0);
});
process.on('SIGTERM', () => void stop(0));
try {
  installVsix(cs, dirs, vsix);
  server = await startCodeServer(cs, dirs, {
    port: opt.port ? Number(opt.port) : undefined,
    extraEnv: { ...fixture.env, ...fixture.activationEnv, NIXOS_FIXTURE_STC_LOG: stcLog },
  });
} catch (e) {
  console.error(`could not start code-server: ${e.message}`);
  await stop(1);
}
const url = workbenchUrl(server, { folder: workspace });
const csVersion = JSON.parse(
  fs.readFileSync(path.join(path.dirname(cs.entry), '..', '..', 'package.json'), 'utf8'),
).version;
console.log(`
NixOS Generations demo: a real VS Code (code-server ${csVersion}, offline) with the extension installed.

  Open ${url}
  (from another machine: ssh -L ${server.port}:127.0.0.1:${server.port} this-host, then the same URL)

  Profiles: ${profiles.join('\n            ')}
  Run dir:  ${fixture.runDir} (activated ${N - 1}, booted ${fixture.env.NIXOS_FIXTURE_PROFILE ? fixtureBooted(fixture) : '?'})
  Fixture:  ${fixtureDir} (a real Nix store of fake NixOS systems; their switch-to-configuration
            moves run/current-system and records its calls in ${stcLog})
  Rebuild:  ${fixture.rebuildCommand} builds a new generation from ${workspace}

Press Ctrl-C to stop.`);
await new Promise(() => {}); // until a signal

/** The generation number run/booted-system points at. */
function fixtureBooted(fx) {
  const target = fs.realpathSync(path.join(fx.runDir, 'booted-system'));
  return fx.manifest.find((g) => !g.isMissing && fs.realpathSync(g.toplevel) === target)?.n ?? '?';
}
