/**
 * Compare generations (a webview with the package, kernel, unit and size changes, risky ones first) and the safe
 * switch: build if needed, preview, activate with `test` under a watchdog on the target, ask to keep, and make the
 * new system the boot default only when kept. A revert is reported as a failure, with its reason.
 */
import { describeProposals, proposeTransitions } from '../../core/transitions/detect';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { diffSystems, previewRemoteSwitch, type GenerationDiff } from '../../core/diff';
import { formatDiffText } from '../../core/diff/format';
import { buildRebuildArgv } from '../../core/deploy/rebuild';
import type { RunResult } from '../../core/exec/process';
import { shellJoin } from '../../core/exec/quote';
import { loadClosureSizes } from '../../core/generations';
import { compareBaseline } from '../../core/generations/states';
import { formatAge } from '../../core/format';
import type { Generation, ProfileListing } from '../../core/generations/types';
import {
  parseHealthChecks,
  safeSwitch as runSafeSwitch,
  isSwitchRunning,
  validateHost,
  type SafeSwitchResult,
  type Target,
} from '../../core/safeswitch';
import type { CommandFactory, ExtensionServices } from '../context';
import { log } from '../log';
import { activeCountdown, askToKeep } from '../preview/countdown';
import type { SizePoint } from '../preview/messages';
import { PreviewPanel } from '../preview/panel';
import { runInTerminal } from '../tasks';
import { requireTrust } from '../trust';
import {
  activatedStorePath,
  ensureLoaded,
  flakeTarget,
  elevationFacts,
  generationArgument,
  pickHost,
  rebuildFlavor,
  recordActivation,
  resolveProgram,
  states,
  systemListing,
} from '../deploy/support';
import { GenerationNode, ProfileNode } from '../tree/nodes';
import { locate } from '../../core/plan/generations';
import { elevationPrefix as decideElevation } from '../../core/deploy/elevation';

const SYSTEM_PROFILE = '/nix/var/nix/profiles/system';

interface Side {
  storePath: string;
  generation: number | null;
}

function sideOf(g: Generation): Side {
  return { storePath: g.storePath, generation: g.generation };
}

function isGenerationLike(value: unknown): value is { profile: unknown; generation: unknown } {
  return typeof value === 'object' && value !== null && 'generation' in value && 'profile' in value;
}

/** Closure sizes of every present generation of a listing, for the chart. */
async function sizePoints(listing: ProfileListing | undefined, compared: readonly string[]): Promise<SizePoint[]> {
  if (!listing) return [];
  const present = listing.generations.filter((g) => !g.missing);
  const { sizes } = await loadClosureSizes(
    present.map((g) => g.storePath),
    { timeoutMs: 30_000 },
  );
  return present
    .filter((g) => sizes.has(g.storePath))
    .map((g) => ({
      generation: g.generation,
      size: sizes.get(g.storePath)!,
      compared: compared.includes(g.storePath),
      activated: g.activated,
    }));
}

/** Two generations to compare, and the profile they belong to (null for bare store paths). */
interface Pair {
  from: Side;
  to: Side;
  listing: ProfileListing | null;
}

/** The two generations to compare from the command's arguments, or undefined when the user cancels. */
async function pickPair(services: ExtensionServices, arg: unknown, selected: unknown): Promise<Pair | undefined> {
  await ensureLoaded(services);
  if (typeof arg === 'object' && arg !== null && 'from' in arg && 'to' in arg) {
    const { from, to } = arg as { from: unknown; to: unknown };
    if (typeof from === 'string' && typeof to === 'string') {
      return {
        from: { storePath: fs.realpathSync(from), generation: null },
        to: { storePath: fs.realpathSync(to), generation: null },
        listing: null,
      };
    }
  }
  if (
    Array.isArray(selected) &&
    selected.length === 2 &&
    selected.every((s) => s instanceof GenerationNode) &&
    (selected as GenerationNode[])[0]!.profile.path === (selected as GenerationNode[])[1]!.profile.path
  ) {
    const nodes = selected as GenerationNode[];
    const [a, b] = nodes.map((n) => n.generation).sort((x, y) => x.generation - y.generation);
    const listing = services.store.listings().find((l) => l.profile.path === nodes[0]!.profile.path) ?? null;
    return { from: sideOf(a!), to: sideOf(b!), listing };
  }
  if (arg instanceof GenerationNode || isGenerationLike(arg) || typeof arg === 'number') {
    const target = await generationArgument(services, arg, 'Compare generation');
    if (!target) return undefined;
    const to = target.generation;
    const from = compareBaseline(target.listing.generations, to.generation, target.profile.kind);
    if (!from) throw new Error(`generation ${to.generation} has no other generation to be compared with`);
    return { from: sideOf(from), to: sideOf(to), listing: target.listing };
  }
  // from the palette: the profile (when there are several), then the generation to look at, then what it is
  // compared with, the baseline (what runs now) offered first
  const listings = services.store
    .listings()
    .filter((l) => !l.problem && l.generations.filter((g) => !g.missing).length >= 2);
  if (listings.length === 0) throw new Error('no profile has two generations to compare');
  let listing = listings[0]!;
  if (listings.length > 1) {
    const picked = await vscode.window.showQuickPick(
      listings.map((l) => ({ label: l.profile.name, description: l.profile.path, listing: l })),
      { title: 'Compare generations of which profile?' },
    );
    if (!picked) return undefined;
    listing = picked.listing;
  }
  const kind = listing.profile.kind;
  const present = [...listing.generations].filter((g) => !g.missing).sort((a, b) => b.generation - a.generation);
  const item = (g: Generation) => ({
    label: `${g.generation}`,
    description: [g.nixosVersion ?? g.label ?? '', formatAge(g.date), states(g, kind)].filter(Boolean).join(' · '),
    generation: g,
  });
  const first = await vscode.window.showQuickPick(present.map(item), {
    title: `Compare ${listing.profile.name}: which generation do you want to look at?`,
    placeHolder: 'Generation (the newest first)',
  });
  if (!first) return undefined;
  const baseline = compareBaseline(listing.generations, first.generation.generation, kind);
  const others = present.filter((g) => g.generation !== first.generation.generation);
  const ordered = baseline ? [baseline, ...others.filter((g) => g !== baseline)] : others;
  const second = await vscode.window.showQuickPick(
    ordered.map((g) => ({ ...item(g), ...(g === baseline ? { detail: 'what runs now (the usual baseline)' } : {}) })),
    { title: `Compare generation ${first.generation.generation} with which generation?` },
  );
  if (!second) return undefined;
  const [a, b] = [first.generation, second.generation].sort((x, y) => x.generation - y.generation);
  return { from: sideOf(a!), to: sideOf(b!), listing };
}

/** `nixosGenerations.diffGenerations`: resolves with the diff shown (for tests and other extensions). */
export const diffGenerations: CommandFactory =
  (services) =>
  async (arg?: unknown, selected?: unknown): Promise<GenerationDiff | undefined> => {
    const pair = await pickPair(services, arg, selected);
    if (!pair) return undefined;
    const { from, to, listing } = pair;
    const diff = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Comparing generations' },
      () => diffSystems(from.storePath, to.storePath, { generations: { from: from.generation, to: to.generation } }),
    );
    log.info(`diff ${from.generation ?? from.storePath} -> ${to.generation ?? to.storePath}\n${formatDiffText(diff)}`);
    const sizes = listing ? await sizePoints(listing, [from.storePath, to.storePath]).catch(() => []) : [];
    const name = (s: Side): string => (s.generation !== null ? String(s.generation) : path.basename(s.storePath));
    PreviewPanel.show(services.extensionContext.extensionUri, {
      type: 'show',
      mode: 'diff',
      title: listing
        ? `${listing.profile.name}: generations ${name(from)} → ${name(to)}`
        : `Generations ${name(from)} → ${name(to)}`,
      note: '',
      profileKind: listing?.profile.kind ?? 'system',
      diff,
      sizes,
    });
    return diff;
  };

// ------------------------------------------------------------------------------------------ safe switch

/**
 * Elevation prefix for the target's privileged steps, or [] when they run as root already. On a remote target
 * nobody can type a password (ssh -T, BatchMode): root@ or the program's non-interactive mode (`sudo -n`).
 */
async function elevationPrefix(services: ExtensionServices, remote: boolean): Promise<string[]> {
  const site = remote ? { kind: 'ssh' as const, host: services.config.targetHost } : { kind: 'background' as const };
  return decideElevation(services.config.elevation, site, await elevationFacts()).prefix;
}

/** Copies the new system's closure to the target (in the terminal: ssh may ask for a host key or a password). */
async function copyClosure(host: string, storePath: string): Promise<void> {
  const copy = await runInTerminal({
    name: 'Copy the closure to the target',
    argv: ['nix-copy-closure', '--to', host, storePath],
    env: { NIX_SSHOPTS: shellJoin(['-o', 'ControlMaster=no', '-o', 'ControlPath=none']) },
  });
  if (copy.exitCode !== 0) throw new Error('copying the closure to the target failed; see the terminal');
}

/** Privileged steps on this machine go through the terminal, where the user can type the password. */
function terminalRunner(): (argv: string[], what: string) => Promise<RunResult> {
  return async (argv, what) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-safe-switch-'));
    const reply = path.join(dir, 'reply');
    try {
      // the reply is written by the elevated command itself; nothing here is interpolated into the script
      const wrapped = [
        'sh',
        '-c',
        'out=$1; shift; "$@" > "$out"; rc=$?; cat "$out"; exit $rc',
        'nixgen',
        reply,
        ...argv,
      ];
      const result = await runInTerminal({ name: `Safe switch: ${what}`, argv: wrapped });
      const stdout = fs.existsSync(reply) ? fs.readFileSync(reply, 'utf8') : '';
      return { exitCode: result.exitCode ?? null, signal: null, stdout, stderr: '', timedOut: false, truncated: false };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

function targetOf(services: ExtensionServices): Target {
  const host = services.config.targetHost.trim();
  if (host === '') return { kind: 'local' };
  const problem = validateHost(host);
  if (problem) throw new Error(problem);
  return { kind: 'ssh', host };
}

/** Builds the configuration (nixos-rebuild build, in the terminal) and returns the result's store path. */
async function buildConfiguration(services: ExtensionServices): Promise<string | undefined> {
  const flake = flakeTarget(services);
  const host = await pickHost(services, flake);
  if (host === undefined) return undefined;
  const program = await resolveProgram(services.config.rebuildCommand);
  const { flavor } = await rebuildFlavor(program);
  // an absolute flake path: the build runs in a temp dir (see below)
  let flakeRef = flake.flake;
  if (flakeRef && flake.dir)
    flakeRef = flake.dir + (flakeRef.includes('#') ? flakeRef.slice(flakeRef.indexOf('#')) : '');
  const built = buildRebuildArgv({
    program,
    action: 'build',
    ...(flakeRef ? { flake: flakeRef } : {}),
    ...(host ? { host } : {}),
    buildHost: services.config.buildHost,
    elevation: services.config.elevation,
    flavor,
    extraArgs: services.config.rebuildExtraArgs,
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-build-'));
  try {
    // nixos-rebuild build leaves ./result in its working directory: our temp dir (the flake path is absolute)
    const result = await runInTerminal({ name: 'nixos-rebuild build', argv: built.argv, cwd: dir });
    if (result.exitCode !== 0) throw new Error('nixos-rebuild build failed; see the terminal');
    return fs.realpathSync(path.join(dir, 'result'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The new system: a generation (tree item or number), a store path, or built from the configuration. */
async function newSystem(services: ExtensionServices, arg: unknown): Promise<Side | undefined> {
  if (typeof arg === 'string' && arg.startsWith('/')) return { storePath: fs.realpathSync(arg), generation: null };
  if (arg instanceof GenerationNode || isGenerationLike(arg) || typeof arg === 'number') {
    const target = await generationArgument(services, arg, 'Safe switch to generation');
    return target ? sideOf(target.generation) : undefined;
  }
  await ensureLoaded(services);
  const BUILD = '$(tools) Build the configuration and switch safely';
  const listing = systemListing(services);
  const items: Array<vscode.QuickPickItem & { generation?: Generation }> = [
    { label: BUILD, detail: 'nixos-rebuild build, then preview, then test with automatic revert' },
    ...[...(listing?.generations ?? [])]
      .filter((g) => !g.missing && !g.activated)
      .sort((a, b) => b.generation - a.generation)
      .map((g) => ({ label: `${g.generation}`, description: g.nixosVersion ?? g.label ?? '', generation: g })),
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'Safe switch', placeHolder: 'Switch to what?' });
  if (!picked) return undefined;
  if (picked.generation) return sideOf(picked.generation);
  const storePath = await buildConfiguration(services);
  return storePath ? { storePath, generation: null } : undefined;
}

/**
 * `nixosGenerations.safeSwitch` (palette and the view's toolbar): asks what to switch to (build the configuration, or
 * a generation) unless a caller passes a generation number, a store path or a plain `{profile, generation}` object.
 * The tree row VS Code hands a toolbar command (the focused one) is ignored: the toolbar must not act on a row the
 * user did not point at. A row's own context menu uses `safeSwitchToGeneration`.
 * Resolves with the outcome (undefined when the user cancelled before it began).
 */
export const safeSwitch: CommandFactory = (services) => {
  const run = safeSwitchTo(services);
  return (arg?: unknown) => run(arg instanceof GenerationNode || arg instanceof ProfileNode ? undefined : arg);
};

/** `nixosGenerations.safeSwitchToGeneration` (a generation row's context menu): safe switch to that row. */
export const safeSwitchToGeneration: CommandFactory = (services) => {
  const run = safeSwitchTo(services);
  return (arg?: unknown) => run(arg);
};

const safeSwitchTo =
  (services: ExtensionServices) =>
  async (arg?: unknown): Promise<SafeSwitchResult | undefined> => {
    const countdown = activeCountdown();
    if (countdown) {
      countdown.ask();
      return undefined;
    }
    if (!requireTrust('Safe switch')) return undefined;
    const target = targetOf(services);
    if (isSwitchRunning(target)) {
      void vscode.window.showWarningMessage('NixOS Generations: a safe switch is already running on this target.');
      return undefined;
    }
    const next = await newSystem(services, arg);
    if (!next) return undefined;
    const remote = target.kind === 'ssh';
    const where = target.kind === 'ssh' ? target.host : 'this machine';
    if (!fs.existsSync(path.join(next.storePath, 'bin', 'switch-to-configuration'))) {
      throw new Error(`${next.storePath} has no bin/switch-to-configuration: it is not a NixOS system`);
    }

    // the preview: what changes against what runs now. For a remote target the running system is read over ssh
    // (facts and closure), the closure copied first so that dry-activate can run there.
    const confirmSeconds = services.config.safeSwitchConfirmSeconds;
    let diff: GenerationDiff | null = null;
    let dry = false;
    let copied = false;
    let unavailable = 'the running system is not available here';
    if (remote) {
      const remoteElevate = await elevationPrefix(services, true);
      const preview = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `Safe switch on ${where}` },
        (progress) =>
          previewRemoteSwitch(target, next.storePath, {
            runDir: '/run',
            generation: next.generation,
            copy: () => copyClosure(where, next.storePath),
            elevate: remoteElevate,
            onStep: (step) =>
              progress.report({
                message:
                  step === 'reading'
                    ? `reading the running system of ${where}`
                    : step === 'copying'
                      ? `copying the closure to ${where}`
                      : 'preparing the preview',
              }),
          }),
      );
      diff = preview.diff;
      copied = preview.copied;
      if (preview.problem) {
        unavailable = preview.problem;
        log.warn(`safe switch: no preview: ${unavailable}`);
      }
      dry = diff?.units !== null && diff?.units !== undefined;
    } else {
      const current = activatedStorePath(services.config.runDir);
      if (current) {
        dry = (await elevationPrefix(services, false)).length === 0;
        diff = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Window, title: 'Preparing the preview' },
          () =>
            diffSystems(current, next.storePath, {
              // the running system by its generation number when it is one (else the preview names its store path)
              generations: {
                from: locate(services.store.listings(), current)?.generation ?? null,
                to: next.generation,
              },
              runDryActivate: dry,
            }),
        );
      }
    }
    if (diff) {
      const sizes = remote
        ? []
        : await sizePoints(systemListing(services), [diff.from.storePath, next.storePath]).catch(() => []);
      const what = next.generation !== null ? `generation ${next.generation}` : 'the new configuration';
      const panel = PreviewPanel.show(services.extensionContext.extensionUri, {
        type: 'show',
        mode: 'confirm',
        profileKind: 'system',
        title: remote ? `Safe switch on ${where} to ${what}` : `Safe switch to ${what}`,
        note:
          (remote ? `From: the system running on ${where} now (${diff.from.label ?? diff.from.storePath}). ` : '') +
          `On ${where}: activated with "test" first; unless you keep it within ${confirmSeconds} s, ` +
          'the previous configuration comes back by itself. The boot default changes only when you keep it.' +
          (dry
            ? ''
            : remote
              ? ' (Unit changes could not be previewed: see the warnings.)'
              : ' (Unit changes need root to be previewed.)') +
          describeProposals(proposeTransitions(diff.risks))
            .map((line) => ` Transition: ${line}`)
            .join(''),
        diff,
        sizes,
      });
      if ((await panel.waitForDecision()) !== 'switch') return undefined;
    } else {
      const ok = await vscode.window.showWarningMessage(
        `Safe switch on ${where}?`,
        {
          modal: true,
          detail:
            `${next.storePath}\n\nActivated with "test"; unless kept within ${confirmSeconds} s it reverts by itself. ` +
            `(No preview: ${unavailable}.)`,
        },
        'Switch safely',
      );
      if (ok !== 'Switch safely') return undefined;
    }

    if (remote && !copied) await copyClosure(where, next.storePath);

    const { checks, problems } = parseHealthChecks(services.config.safeSwitchHealthChecks);
    for (const p of problems) log.warn(`safeSwitch.healthChecks: ${p}`);
    const elevate = await elevationPrefix(services, remote);
    const viaTerminal = !remote && elevate.length > 0;
    const profile = remote ? SYSTEM_PROFILE : (systemListing(services)?.profile.path ?? SYSTEM_PROFILE);
    log.info(`safe switch on ${where}: ${next.storePath} (confirm within ${confirmSeconds} s)`);
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Safe switch' },
      (progress) =>
        runSafeSwitch({
          target,
          toplevel: next.storePath,
          profile,
          runDir: remote ? '/run' : services.config.runDir,
          confirmSeconds,
          healthChecks: checks,
          elevate: viaTerminal ? [] : elevate,
          ...(viaTerminal ? { privilegedRunner: wrapElevated(elevate) } : {}),
          decide: (context) => askToKeep(context, where),
          onProgress: (p) => {
            log.info(`safe switch: ${p.phase}: ${p.message}`);
            progress.report({ message: p.message });
          },
        }),
    );
    await services.explorer.refresh();
    report(result, where);
    if (result.outcome === 'kept' && !remote) {
      await recordActivation({
        action: 'safe switch',
        profile,
        generation: next.generation,
        storePath: next.storePath,
      });
    }
    return result;
  };

/** Runs privileged steps in the terminal with the elevation prefix. */
function wrapElevated(prefix: readonly string[]): (argv: string[], what: string) => Promise<RunResult> {
  const run = terminalRunner();
  return (argv, what) => run([...prefix, ...argv], what);
}

function report(result: SafeSwitchResult, where: string): void {
  switch (result.outcome) {
    case 'kept':
      void vscode.window.showInformationMessage(
        `NixOS Generations: the new configuration on ${where} is kept and is the boot default.`,
      );
      break;
    case 'refused':
      void vscode.window.showWarningMessage(`NixOS Generations: safe switch refused: ${result.reason}`);
      break;
    default:
      log.error(`safe switch on ${where} failed: ${result.reason}`);
      void vscode.window
        .showErrorMessage(`NixOS Generations: safe switch failed on ${where}: ${result.reason}`, 'Show Log')
        .then((choice) => {
          if (choice) log.show();
        });
  }
}
