// Start and stop a real, offline VS Code (code-server: VS Code server + web workbench + Node extension host)
// and a headless Debian Chromium for the project's tests and demo. Installed by scripts/install-test-deps.sh
// into .vscode-test/ (or $NIXGEN_TEST_CACHE). Everything started here is stopped by the returned handles, and
// nothing is written to $HOME: code-server, VS Code and Chromium get per-run XDG, user-data and TMPDIR dirs.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (test/lib/../..). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Tell lib/with-cleanup.sh which temp paths to delete if this process is killed before it cleans up.
 * No-op when not running under the wrapper.
 */
let keepingTempFiles = false;

/** --keep: from now on, run dirs, fixtures and workspaces are left in place (the socket TMPDIR still goes). */
export function keepTempFiles() {
  keepingTempFiles = true;
}

export function registerCleanupPath(p, { always = false } = {}) {
  if (keepingTempFiles && !always) return;
  const pidfile = process.env.VSCODE_HARNESS_PIDFILE;
  if (pidfile) {
    try {
      fs.appendFileSync(`${pidfile}.paths`, p + '\n');
    } catch {
      // the wrapper is gone; nothing to tell
    }
  }
}

/** Paths of the installed code-server, or an Error telling how to install it. */
export function resolveCodeServer() {
  const cache = path.resolve(process.env.NIXGEN_TEST_CACHE || path.join(ROOT, '.vscode-test'));
  const node24 = path.join(cache, 'node24', 'bin', 'node');
  const entry = path.join(cache, 'code-server', 'lib', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  for (const f of [node24, entry]) {
    if (!fs.existsSync(f)) {
      throw new Error(`missing ${f}: run 'bash scripts/install-test-deps.sh' (npm run setup:test) first`);
    }
  }
  return { cache, node24, entry };
}

/** playwright-core from the project's node_modules (a devDependency; it drives /usr/bin/chromium, no download). */
export function loadPlaywright() {
  const require = createRequire(path.join(ROOT, 'package.json'));
  try {
    return require('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core is not installed: run 'npm ci' first (${e.message})`);
  }
}

export async function freePort() {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Quiet, offline-friendly user settings: no welcome page, AI features, update checks, trust prompts. */
export const DEFAULT_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'chat.disableAIFeatures': true,
  'git.openRepositoryInParentFolders': 'never',
  'git.autoRepositoryDetection': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'security.workspace.trust.enabled': false,
};

/**
 * A throwaway run directory: user-data-dir (with User/settings.json = DEFAULT_SETTINGS + settings, and
 * Machine/settings.json = machineSettings), extensions-dir, XDG dirs, config.yaml, log, and a short TMPDIR outside
 * it (unix socket paths must stay under ~107 bytes). dispose() removes them.
 *
 * Why two files: code-server's window is a *remote* window (the extension host runs on the server), and in a remote
 * window VS Code reads `machine`-scoped settings (nixosGenerations.profiles, runDir, ...) only from the remote
 * machine's settings, <user-data-dir>/Machine/settings.json; in User/settings.json they are ignored. (They are
 * sometimes seen early in the extension host and then reset to their defaults when the workbench's filtered
 * configuration arrives, so a test reading them from User settings passes or fails by timing.)
 */
export function makeRunDir(baseDir, settings = {}, { keep = false, machineSettings = {} } = {}) {
  fs.mkdirSync(baseDir, { recursive: true });
  const run = fs.mkdtempSync(path.join(baseDir, 'run-'));
  if (!keep) registerCleanupPath(run);
  const dirs = {
    run,
    userData: path.join(run, 'user-data'),
    extensions: path.join(run, 'extensions'),
    xdgConfig: path.join(run, 'xdg-config'),
    xdgData: path.join(run, 'xdg-data'),
    xdgCache: path.join(run, 'xdg-cache'),
    xdgState: path.join(run, 'xdg-state'),
    config: path.join(run, 'config.yaml'),
    log: path.join(run, 'code-server.log'),
    tmp: fs.mkdtempSync(path.join(os.tmpdir(), 'vsh-')),
    userSettings: path.join(run, 'user-data', 'User', 'settings.json'),
    machineSettings: path.join(run, 'user-data', 'Machine', 'settings.json'),
    dispose(keepRun = false) {
      fs.rmSync(this.tmp, { recursive: true, force: true });
      if (!keepRun) fs.rmSync(run, { recursive: true, force: true });
    },
  };
  registerCleanupPath(dirs.tmp, { always: true });
  for (const d of [dirs.userData, dirs.extensions, dirs.xdgConfig, dirs.xdgData, dirs.xdgCache, dirs.xdgState]) {
    fs.mkdirSync(d, { recursive: true });
  }
  fs.mkdirSync(path.dirname(dirs.userSettings), { recursive: true });
  fs.writeFileSync(dirs.userSettings, JSON.stringify({ ...DEFAULT_SETTINGS, ...settings }, null, 2) + '\n');
  fs.mkdirSync(path.dirname(dirs.machineSettings), { recursive: true });
  fs.writeFileSync(dirs.machineSettings, JSON.stringify(machineSettings, null, 2) + '\n');
  return dirs;
}

function csEnv(dirs, extraEnv = {}) {
  return {
    ...process.env,
    XDG_CONFIG_HOME: dirs.xdgConfig,
    XDG_DATA_HOME: dirs.xdgData,
    XDG_CACHE_HOME: dirs.xdgCache,
    // the extension's activation history (deploy commands) goes to $XDG_STATE_HOME/nixos-generations
    XDG_STATE_HOME: dirs.xdgState,
    TMPDIR: dirs.tmp,
    // The default gallery (open-vsx.org) only produces DNS errors offline; '{}' (no serviceUrl) disables it.
    EXTENSIONS_GALLERY: process.env.EXTENSIONS_GALLERY || '{}',
    ...extraEnv,
  };
}

function commonArgs(dirs) {
  return ['--config', dirs.config, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
}

/**
 * `vsce package --no-dependencies` of the repository (dist/ must be built) into `outFile`, as a user would get it.
 * Without a `repository` in package.json, vsce refuses to rewrite README's relative links (docs/screenshot.png) and,
 * in a terminal, asks about the missing repository: the links are left relative (they resolve inside the VSIX) and
 * the question is answered in advance.
 */
export function packageVsix(outFile) {
  const vsce = path.join(ROOT, 'node_modules', '.bin', 'vsce');
  if (!fs.existsSync(vsce)) throw new Error(`${vsce} not found: run 'npm ci' first`);
  const t0 = Date.now();
  const r = spawnSync(
    vsce,
    ['package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '-o', outFile],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180000 },
  );
  if (r.status !== 0 || !fs.existsSync(outFile)) {
    throw new Error(`vsce package failed (rc=${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return { ms: Date.now() - t0, file: outFile };
}

/** code-server --install-extension FILE.vsix into the run's extensions dir (no server needed). */
export function installVsix(cs, dirs, vsix) {
  const t0 = Date.now();
  const r = spawnSync(cs.node24, [cs.entry, ...commonArgs(dirs), '--install-extension', vsix, '--force'], {
    env: csEnv(dirs),
    encoding: 'utf8',
    timeout: 120000,
  });
  const out = (r.stdout || '') + (r.stderr || '');
  if (r.status !== 0 || !/successfully installed/i.test(out)) {
    throw new Error(`--install-extension ${vsix} failed (rc=${r.status}):\n${out}`);
  }
  return { ms: Date.now() - t0, output: out.trim() };
}

/**
 * Start code-server on 127.0.0.1 (free port unless given, no auth) in its own process group; resolves once
 * /healthz answers. extraEnv is inherited by the extension host. stop() ends the whole group.
 */
export async function startCodeServer(
  cs,
  dirs,
  { port, host = '127.0.0.1', extraArgs = [], extraEnv = {}, folder } = {},
) {
  port = port || (await freePort());
  fs.writeFileSync(dirs.config, `bind-addr: ${host}:${port}\nauth: none\ncert: false\n`);
  const args = [
    cs.entry,
    ...commonArgs(dirs),
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    ...extraArgs,
  ];
  if (folder) args.push(folder);
  const logFd = fs.openSync(dirs.log, 'a');
  const t0 = Date.now();
  const child = spawn(cs.node24, args, {
    env: csEnv(dirs, extraEnv),
    stdio: ['ignore', logFd, logFd],
    detached: true,
  });
  fs.closeSync(logFd);
  let exited = null;
  child.on('exit', (code, sig) => {
    exited = { code, sig };
  });
  const pidfile = process.env.VSCODE_HARNESS_PIDFILE;
  if (pidfile) fs.writeFileSync(pidfile, String(child.pid));
  const url = `http://${host}:${port}`;
  const stop = async () => {
    if (!exited) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      for (let i = 0; i < 50 && !exited; i++) await sleep(100);
      if (!exited) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      for (let i = 0; i < 20 && !exited; i++) await sleep(100);
    }
    // Children that outlive the main process (the agent host's runtime, language servers) share its group.
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is empty
    }
    if (pidfile) {
      try {
        fs.writeFileSync(pidfile, '');
      } catch {
        // the wrapper is gone
      }
    }
  };
  for (;;) {
    if (exited) {
      throw new Error(
        `code-server exited early (${JSON.stringify(exited)}); log:\n${fs.readFileSync(dirs.log, 'utf8')}`,
      );
    }
    if (Date.now() - t0 > 60000) {
      await stop();
      throw new Error(`code-server did not answer ${url}/healthz within 60 s; log: ${dirs.log}`);
    }
    try {
      const r = await globalThis.fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  return { child, pid: child.pid, port, url, authority: `${host}:${port}`, startMs: Date.now() - t0, stop };
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Headless Debian Chromium (or $CHROMIUM) with a fresh profile dir, removed by close(). */
export async function launchChromium(playwright, { width = 1280, height = 800, deviceScaleFactor = 1 } = {}) {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) {
    throw new Error(`${executablePath} not found: run 'bash scripts/install-test-deps.sh' (or set CHROMIUM)`);
  }
  const udd = fs.mkdtempSync(path.join(os.tmpdir(), 'vsh-chromium-'));
  registerCleanupPath(udd, { always: true });
  const context = await playwright.chromium.launchPersistentContext(udd, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width, height },
    deviceScaleFactor,
    // Chromium's crashpad otherwise creates ~/.config/chromium/Crash Reports.
    env: { ...process.env, XDG_CONFIG_HOME: path.join(udd, 'xdg-config'), XDG_CACHE_HOME: path.join(udd, 'xdg-cache') },
  });
  return {
    context,
    async close() {
      try {
        await context.close();
      } catch {
        // already closed
      }
      fs.rmSync(udd, { recursive: true, force: true });
    },
  };
}

/** The workbench URL for a folder, with an optional payload (extensionDevelopmentPath, extensionTestsPath). */
export function workbenchUrl(server, { folder, payload } = {}) {
  let url = `${server.url}/?`;
  url += folder ? `folder=${encodeURIComponent(folder)}` : 'ew=true';
  if (payload && payload.length) url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return url;
}

/** A path on the code-server machine as the web client must name it for the remote (Node) extension host. */
export function remoteUri(server, absPath) {
  return `vscode-remote://${server.authority}${absPath}`;
}

/** The leading comment block of a script (its usage text), for --help. */
export function usage(scriptUrl) {
  const lines = fs.readFileSync(new URL(scriptUrl), 'utf8').split('\n');
  const body = [];
  for (const line of lines.slice(lines[0].startsWith('#!') ? 1 : 0)) {
    if (!line.startsWith('//')) break;
    body.push(line.replace(/^\/\/ ?/, ''));
  }
  return body.join('\n') + '\n';
}

/** Minimal --flag / --flag=value / --flag value parser; booleans in spec take no value. Unknown flags: exit 2. */
export function parseArgs(argv, spec) {
  const out = { ...spec, _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      out._.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const k = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const v = eq >= 0 ? a.slice(eq + 1) : undefined;
    if (!(k in spec)) {
      console.error(`unknown option --${k} (see --help)`);
      process.exit(2);
    }
    if (typeof spec[k] === 'boolean') out[k] = v === undefined ? true : v !== 'false';
    else if (Array.isArray(spec[k])) out[k] = [...out[k], v !== undefined ? v : argv[++i]];
    else out[k] = v !== undefined ? v : argv[++i];
  }
  return out;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Copy a directory tree (the workspace template) to `<fresh temp dir>/<name>` and return that path; the temp dir
 * (its parent) is what removeCopy() deletes. A stable last path component keeps window titles readable.
 */
export function copyTemplate(template, prefix, name = 'workspace') {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  registerCleanupPath(parent);
  const dir = path.join(parent, name);
  fs.cpSync(template, dir, { recursive: true });
  return dir;
}

/** Remove what copyTemplate() made. */
export function removeCopy(dir) {
  if (dir) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
}

/**
 * Run this driver again under test/lib/with-cleanup.sh (unless already under it), so that code-server's process
 * group and the temp dirs are removed even if the driver is SIGKILLed. Returns only in the re-run process;
 * the outer process exits with the inner one's status.
 */
export async function reexecUnderCleanup(scriptUrl) {
  if (process.env.VSCODE_HARNESS_PIDFILE || process.env.NIXGEN_NO_CLEANUP_WRAPPER) return;
  const wrapper = path.join(ROOT, 'test', 'lib', 'with-cleanup.sh');
  const child = spawn('bash', [wrapper, process.execPath, fileURLToPath(scriptUrl), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  // Ctrl-C reaches the whole foreground process group (the driver handles it); a SIGTERM sent to this pid alone
  // is passed on.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  const code = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 + 15 : 1))));
  process.exit(code);
}
