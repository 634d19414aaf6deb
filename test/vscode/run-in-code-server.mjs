#!/usr/bin/env node
// Runs the extension's integration tests (test/vscode/**, compiled to out/test/vscode/**) inside the Node extension
// host of a real VS Code, offline: code-server from .vscode-test/ (scripts/install-test-deps.sh), opened by headless
// Chromium. Same contract as @vscode/test-electron: the suite module out/test/vscode/suite/index.js exports run().
//
//   npm run test:vscode                        (builds dist/ and out/ first)
//   node test/vscode/run-in-code-server.mjs [--grep REGEX] [--generations N] [--fixture DIR] [--env K=V]...
//                                           [--timeout MS] [--test-timeout MS] [--out DIR] [--keep] [--verbose]
//
// Per run it builds a fixture profile with test/fixtures/nix-fixture/make-fixture.sh (N generations, default 12;
// --fixture DIR reuses one already built), copies test/vscode/workspace to a temp dir (a git repo with one commit),
// and writes code-server's remote MACHINE settings (user-data/Machine/settings.json) with
// nixosGenerations.profiles = [fixture profile] and nixosGenerations.runDir = fixture/run: both settings are
// machine-scoped, which VS Code ignores in workspace settings and, in a remote window like code-server's, in user
// settings too. The extension host gets these variables (besides the fixture's env.sh: NIX_STORE_DIR, ...):
//   NIXGEN_TEST_PROFILE, NIXGEN_TEST_RUN_DIR, NIXGEN_TEST_FIXTURE_DIR, NIXGEN_TEST_MANIFEST, NIXGEN_TEST_WORKSPACE,
//   NIXGEN_TEST_RESULTS, NIXGEN_TEST_MACHINE_SETTINGS, NIXOS_FIXTURE_STC_LOG (where the fixture's switch-to-configuration records its calls),
//   and NIXGEN_TEST_GREP / NIXGEN_TEST_TIMEOUT when given.
// Output: the extension host's mocha report, then `N passed, N failed` as the last line. Logs and a screenshot
// on timeout go to test-results/vscode/. Exit code: 0 passed, 1 tests failed, 2 harness error or timeout.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import {
  ROOT,
  copyTemplate,
  launchChromium,
  loadPlaywright,
  makeRunDir,
  parseArgs,
  reexecUnderCleanup,
  keepTempFiles,
  remoteUri,
  removeCopy,
  resolveCodeServer,
  startCodeServer,
  usage,
  workbenchUrl,
} from '../lib/codeserver.mjs';
import { buildFixture, readFixture, removeFixture } from '../lib/fixture.mjs';

await reexecUnderCleanup(import.meta.url);

const opt = parseArgs(process.argv.slice(2), {
  grep: '',
  generations: '12',
  fixture: '',
  env: [],
  timeout: '300000',
  'test-timeout': '',
  out: path.join(ROOT, 'test-results', 'vscode'),
  keep: false,
  verbose: false,
  help: false,
});
if (opt.keep) keepTempFiles();
if (opt.help) {
  process.stdout.write(usage(import.meta.url));
  process.exit(0);
}
const out = path.resolve(opt.out);
fs.mkdirSync(out, { recursive: true });
const log = (...a) => console.error('[vscode-tests]', ...a);
const SUITE = path.join(ROOT, 'out', 'test', 'vscode', 'suite', 'index.js');
// Each run writes its own results, logs and screenshots in its run dir (several runs may share the repository at
// once); they are copied to `out` at the end.
let runResults;

// Workbench start-up chatter that is not test output (kept in automation.log; shown with --verbose).
const NOISE = [
  /^Resolving connection token/,
  /^Resolved connection token/,
  /^Creating a socket/,
  /^\[Service Worker\]/,
  /^\[reconnection-grace-time\]/,
  /^Updating additional builtin extensions cache/,
  /^\[AgentHost/,
  /^\[AccountPolicyGate\]/,
  /ECONNREFUSED 127\.0\.0\.1:9/,
  /^Ignoring fetching additional builtin extensions from gallery/,
  /^Started local extension host/,
  /^Canceled: Canceled/,
  /^Creation of workbench contribution/,
  /^\[Extension Host\] Extension Host is disposed/,
];

let server;
let browser;
let dirs;
let fixture;
let workspace;
let lastSummary = null;
const cleanup = async () => {
  if (browser) await browser.close();
  browser = undefined;
  if (server) await server.stop();
  server = undefined;
  if (dirs) dirs.dispose(opt.keep);
  dirs = undefined;
  if (!opt.keep) {
    if (fixture && !opt.fixture) removeFixture(fixture.dir);
    removeCopy(workspace);
  }
  fixture = undefined;
  workspace = undefined;
};
for (const [sig, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
]) {
  process.on(sig, async () => {
    log(`${sig}: stopping`);
    await cleanup();
    process.exit(code);
  });
}

/** A workspace copy that is a git repository with one commit (the way a NixOS flake usually lives). */
function prepareWorkspace(settings) {
  const dir = copyTemplate(path.join(ROOT, 'test', 'vscode', 'workspace'), 'nixgen-ws-', 'nixos-config');
  const settingsFile = path.join(dir, '.vscode', 'settings.json');
  const base = fs.existsSync(settingsFile) ? JSON.parse(fs.readFileSync(settingsFile, 'utf8')) : {};
  fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
  // Also written here for people reading the workspace; VS Code applies these two from the machine settings only.
  fs.writeFileSync(settingsFile, JSON.stringify({ ...base, ...settings }, null, 2) + '\n');
  const git = (...args) => {
    const r = spawnSync(
      'git',
      ['-c', 'user.name=NixGen Test', '-c', 'user.email=test@nixgen.invalid', '-c', 'commit.gpgsign=false', ...args],
      { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } },
    );
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${dir}: ${r.stderr}`);
  };
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'Test workspace');
  return dir;
}

let exitCode = 2;
const t0 = Date.now();
const timings = {};
try {
  for (const f of [path.join(ROOT, 'dist', 'extension.js'), SUITE]) {
    if (!fs.existsSync(f))
      throw new Error(`${f} is missing: run 'npm run test:vscode' (it builds dist/ and out/ first)`);
  }
  const cs = resolveCodeServer();
  const pw = loadPlaywright();

  let t = Date.now();
  fixture = opt.fixture ? readFixture(opt.fixture) : buildFixture(Number(opt.generations));
  timings.fixtureMs = Date.now() - t;
  log(`fixture ${fixture.profile} (${fixture.manifest.length} generations) ready after ${timings.fixtureMs} ms`);

  const nixgenSettings = { 'nixosGenerations.profiles': [fixture.profile], 'nixosGenerations.runDir': fixture.runDir };
  workspace = prepareWorkspace(nixgenSettings);
  dirs = makeRunDir(path.join(out, 'runs'), {}, { keep: opt.keep, machineSettings: nixgenSettings });
  runResults = path.join(dirs.run, 'results.json');

  const extraEnv = {
    ...fixture.env,
    NIXGEN_TEST_PROFILE: fixture.profile,
    NIXGEN_TEST_RUN_DIR: fixture.runDir,
    NIXGEN_TEST_FIXTURE_DIR: fixture.dir,
    NIXGEN_TEST_MANIFEST: path.join(fixture.dir, 'manifest.tsv'),
    NIXGEN_TEST_WORKSPACE: workspace,
    NIXGEN_TEST_RESULTS: runResults,
    // the remote window's machine settings file, for tests that set machine-scoped settings (the fleet's machines)
    NIXGEN_TEST_MACHINE_SETTINGS: dirs.machineSettings,
    NIXOS_FIXTURE_STC_LOG: path.join(fixture.dir, 'switch-to-configuration.log'),
  };
  if (opt.grep) extraEnv.NIXGEN_TEST_GREP = opt.grep;
  if (opt['test-timeout']) extraEnv.NIXGEN_TEST_TIMEOUT = opt['test-timeout'];
  for (const kv of opt.env) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--env expects KEY=VALUE, got ${kv}`);
    extraEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
  }

  // A built VS Code web client honours the URL payload (extensionDevelopmentPath, extensionTestsPath) only when
  // the server runs with --enable-smoke-test-driver, which code-server forwards with --vscode-option.
  t = Date.now();
  server = await startCodeServer(cs, dirs, {
    extraArgs: ['--vscode-option', 'enable-smoke-test-driver'],
    extraEnv, // inherited by the extension host
  });
  timings.codeServerHealthyMs = Date.now() - t;
  log(`code-server pid ${server.pid} on ${server.url} (healthy after ${server.startMs} ms)`);

  browser = await launchChromium(pw);
  const page = browser.context.pages()[0] || (await browser.context.newPage());
  let resolveExit;
  const exited = new Promise((r) => {
    resolveExit = r;
  });
  // In automation mode the workbench streams the extension host's console (mocha's reporter) to
  // window.codeAutomationLog and reports the end of run() through window.codeAutomationExit(code, logs).
  const autoLog = fs.createWriteStream(path.join(dirs.run, 'automation.log'));
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    const text = util.format(...(Array.isArray(args) ? args : [args]));
    autoLog.write(`[${type}] ${text}\n`);
    const m = /^(\d+) passed, (\d+) failed/.exec(text);
    if (m) lastSummary = { passes: Number(m[1]), failures: Number(m[2]) };
    if (!opt.verbose && NOISE.some((re) => re.test(text))) return;
    process.stdout.write(text + '\n');
  });
  await page.exposeFunction('codeAutomationExit', (code, logs) => {
    try {
      const logDir = path.join(dirs.run, 'logs');
      for (const l of logs || []) {
        const p = path.join(logDir, l.relativePath);
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, l.contents);
      }
    } catch (e) {
      log('could not save the workbench logs:', e);
    }
    resolveExit(code);
  });
  page.on('pageerror', (e) => log('pageerror:', String(e).slice(0, 300)));

  const url = workbenchUrl(server, {
    folder: workspace,
    payload: [
      ['extensionDevelopmentPath', remoteUri(server, ROOT)],
      ['extensionTestsPath', remoteUri(server, SUITE)],
      ['skipWelcome', 'true'],
    ],
  });
  t = Date.now();
  await page.goto(url);
  const timeout = Number(opt.timeout);
  let timer;
  const code = await Promise.race([
    exited,
    new Promise((r) => {
      timer = setTimeout(() => r('timeout'), timeout);
    }),
  ]);
  clearTimeout(timer);
  timings.testsMs = Date.now() - t;
  autoLog.end();
  if (code === 'timeout') {
    log(`no result from the extension host within ${timeout} ms (see ${out}/automation.log, timeout.png)`);
    await page.screenshot({ path: path.join(dirs.run, 'timeout.png') }).catch(() => {});
    exitCode = 2;
  } else {
    log(`extension host finished with code ${code} after ${timings.testsMs} ms`);
    exitCode = Number(code) === 0 ? 0 : 1;
  }
} catch (e) {
  log('harness error:', (e && e.stack) || e);
  exitCode = 2;
} finally {
  // The closing line CI reads: mocha's counts from this run's results.json (written by the suite), else from the
  // suite's own summary line in the log.
  let summary = lastSummary;
  if (runResults && fs.existsSync(runResults)) {
    try {
      const r = JSON.parse(fs.readFileSync(runResults, 'utf8'));
      summary = { passes: r.passes, failures: r.failures };
    } catch {
      // keep the log's numbers
    }
  }
  if (dirs) {
    // The latest run's files, for people and CI artifacts.
    for (const f of ['results.json', 'automation.log', 'timeout.png', 'code-server.log']) {
      const from = path.join(dirs.run, f);
      if (fs.existsSync(from)) fs.copyFileSync(from, path.join(out, f));
      else fs.rmSync(path.join(out, f), { force: true });
    }
    fs.rmSync(path.join(out, 'logs'), { recursive: true, force: true });
    if (fs.existsSync(path.join(dirs.run, 'logs'))) {
      fs.cpSync(path.join(dirs.run, 'logs'), path.join(out, 'logs'), { recursive: true });
    }
  }
  if (opt.keep) log(`kept: run dir ${dirs?.run}, fixture ${fixture?.dir}, workspace ${workspace}`);
  await cleanup();
  timings.totalMs = Date.now() - t0;
  log('timings', JSON.stringify(timings));
  if (summary) {
    if (exitCode === 0 && summary.failures > 0) exitCode = 1;
    console.log(`${summary.passes} passed, ${summary.failures} failed`);
  } else {
    console.log('0 passed, 1 failed (the extension host reported no test result; see the messages above)');
    if (exitCode === 0) exitCode = 2;
  }
  process.exit(exitCode);
}
