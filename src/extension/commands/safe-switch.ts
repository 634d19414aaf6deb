/**
 * `nixosGenerations.safeSwitch` / `.safeSwitchToGeneration`: build if needed, preview, activate with `test` under a
 * watchdog on the target, ask to keep, and make the new system the boot default only when kept. A revert is
 * reported as a failure, with its reason. Planned by core/plan/safe-switch; the protocol is core/safeswitch.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { diffSystems, previewMachineSwitch, previewRemoteSwitch, type GenerationDiff } from '../../core/diff';
import { buildRebuildArgv } from '../../core/deploy/rebuild';
import type { RunResult } from '../../core/exec/process';
import { shellJoin } from '../../core/exec/quote';
import type { Generation } from '../../core/generations/types';
import { locate } from '../../core/plan/generations';
import {
  absoluteFlakeRef,
  confirmWithoutPreview,
  planSafeSwitch,
  previewWords,
  safeSwitchOutcome,
  safeSwitchTarget,
  type NewSystem,
  type SafeSwitchPlan,
} from '../../core/plan/safe-switch';
import { isSwitchRunning, safeSwitch as runSafeSwitch, type SafeSwitchResult } from '../../core/safeswitch';
import type { Risk } from '../../core/diff/risk';
import { hooksForHost, planSwitchTransitions, type SwitchTransitionPlan } from '../../core/plan/transition-switch';
import { runOnTarget, type Target } from '../../core/target';
import { proposeSwitchTransitions, readPostgresUnits } from '../../core/transitions/detect';
import type { TransitionPlan } from '../../core/transitions/plan';
import type { CommandFactory, ExtensionServices } from '../context';
import {
  activatedStorePath,
  confirm,
  elevationFacts,
  ensureLoaded,
  flakeTarget,
  generationArgument,
  pickHost,
  rebuildFlavor,
  recordActivation,
  resolveProgram,
  systemListing,
} from '../deploy/support';
import { log } from '../log';
import { activeCountdown, askToKeep } from '../preview/countdown';
import { PreviewPanel } from '../preview/panel';
import { runInTerminal } from '../tasks';
import { requireTrust } from '../trust';
import { GenerationNode, ProfileNode } from '../tree/nodes';
import { isGenerationLike, sideOf, sizePoints } from './preview';
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

/**
 * The state transitions of this switch (core/plan/transition-switch): reads the PostgreSQL units of both systems
 * on the target and, where it can run without a password prompt, asks the target for the exact plan (sizes, free
 * space, refusals) with `transition postgresql --plan --json`. Reads only; nothing changes here.
 */
async function planTransitions(
  services: ExtensionServices,
  target: Target,
  plan: SafeSwitchPlan,
  risks: readonly Risk[],
  oldSystem: string | null,
  newSystem: string,
): Promise<SwitchTransitionPlan> {
  const settings = services.config.snapshot();
  const { hooks, problems } = hooksForHost(settings.transitionsHooks, target.kind === 'ssh' ? target.host : 'local');
  for (const p of problems) log.warn(`transitions.hooks: ${p}`);
  let units: Awaited<ReturnType<typeof readPostgresUnits>> | null = null;
  if (oldSystem) {
    try {
      units = await readPostgresUnits(target, oldSystem, newSystem);
    } catch (error) {
      log.warn(`safe switch: ${(error as Error).message}`);
    }
  }
  const proposals = proposeSwitchTransitions(risks, units);
  const input: Parameters<typeof planSwitchTransitions>[0] = { proposals, hooks, cli: settings.transitionsCommand };
  if (units && proposals.some((p) => p.kind === 'postgresql')) input.postgres = units;
  const first = planSwitchTransitions(input);
  if (!first.planArgv) return first;
  if (plan.viaTerminal) {
    return planSwitchTransitions({ ...input, targetPlanProblem: 'reading it needs a password on this machine' });
  }
  // The migration runs this same command on the target: when it cannot start there, refuse now (with the setting
  // to change) rather than let the switch reach a step that cannot run.
  const notInstalled = [
    `${first.planArgv[0]} cannot be run on ${plan.where}: install the nixos-generations command there or set ` +
      'nixosGenerations.transitions.command',
  ];
  let r: RunResult;
  try {
    r = await runOnTarget(target, first.planArgv, { elevate: plan.elevate, timeoutMs: 120_000 });
  } catch (error) {
    log.warn(`safe switch: ${(error as Error).message}`);
    return planSwitchTransitions({ ...input, targetProblems: notInstalled });
  }
  if (r.exitCode === 127) return planSwitchTransitions({ ...input, targetProblems: notInstalled });
  try {
    const answer = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { plan: TransitionPlan; problems: string[] };
    return planSwitchTransitions({ ...input, targetPlan: answer.plan, targetProblems: answer.problems });
  } catch {
    const why = (r.stderr.trim().split('\n').pop() ?? '') || `exit ${r.exitCode ?? r.signal}`;
    log.warn(`safe switch: the transition plan could not be read from ${plan.where}: ${why}`);
    return planSwitchTransitions({ ...input, targetPlanProblem: `${first.planArgv[0]} answered: ${why}` });
  }
}

/** Builds the configuration (nixos-rebuild build, in the terminal) and returns the result's store path. */
async function buildConfiguration(services: ExtensionServices): Promise<string | undefined> {
  const flake = flakeTarget(services);
  const host = await pickHost(services, flake);
  if (host === undefined) return undefined;
  const program = await resolveProgram(services.config.rebuildCommand);
  const { flavor } = await rebuildFlavor(program);
  // an absolute flake path: the build runs in a temp dir (see below)
  const flakeRef = absoluteFlakeRef(flake.flake, flake.dir);
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
async function newSystem(services: ExtensionServices, arg: unknown): Promise<NewSystem | undefined> {
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

/**
 * A safe switch of a machine of the fleet to one of its own generations (the explorer's remote switch, when the new
 * system may cut the operator off): the target is the machine's, not the `targetHost` setting, and the system is
 * already on the machine (the identity guard saw it), so nothing is built or copied and both systems are read there.
 */
export interface MachineSafeSwitch {
  target: Extract<Target, { kind: 'ssh' }>;
  next: NewSystem & { generation: number };
}

export function safeSwitchOnMachine(
  services: ExtensionServices,
  machine: MachineSafeSwitch,
): Promise<SafeSwitchResult | undefined> {
  return safeSwitchTo(services, machine)();
}

const safeSwitchTo =
  (services: ExtensionServices, machine?: MachineSafeSwitch) =>
  async (arg?: unknown): Promise<SafeSwitchResult | undefined> => {
    const countdown = activeCountdown();
    if (countdown) {
      // the countdown notification's links answer; anything else asks again
      if (arg === 'keep' || arg === 'revert') countdown.answer(arg);
      else countdown.ask();
      return undefined;
    }
    if (!requireTrust('Safe switch')) return undefined;
    const target = machine?.target ?? safeSwitchTarget(services.config.targetHost);
    if (isSwitchRunning(target)) {
      void vscode.window.showWarningMessage('NixOS Generations: a safe switch is already running on this target.');
      return undefined;
    }
    const next = machine?.next ?? (await newSystem(services, arg));
    if (!next) return undefined;
    if (!machine && !fs.existsSync(path.join(next.storePath, 'bin', 'switch-to-configuration'))) {
      throw new Error(`${next.storePath} has no bin/switch-to-configuration: it is not a NixOS system`);
    }
    const plan = planSafeSwitch({
      target,
      next,
      settings: services.config.snapshot(),
      systemProfile: systemListing(services)?.profile.path,
      facts: await elevationFacts(),
    });
    const { where, remote } = plan;

    // the preview: what changes against what runs now. For a remote target the running system is read over ssh
    // (facts and closure), the closure copied first so that dry-activate can run there.
    let diff: GenerationDiff | null = null;
    /** The preview this switch was answered in: what it sends later lands only while that preview is shown. */
    let preview: { panel: PreviewPanel; showId: string } | undefined;
    let dry = false;
    let copied = false;
    let unavailable = 'the running system is not available here';
    if (machine) {
      // both systems are on the machine: read there, dry-activate run there
      const read = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `Safe switch on ${where}: reading both systems` },
        () =>
          previewMachineSwitch(machine.target, next.storePath, { generation: next.generation, elevate: plan.elevate }),
      );
      diff = read.diff;
      copied = true;
      dry = diff?.units !== null && diff?.units !== undefined;
      if (read.problem) {
        unavailable = read.problem;
        log.warn(`safe switch: no preview: ${unavailable}`);
      }
    } else if (target.kind === 'ssh') {
      const preview = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `Safe switch on ${where}` },
        (progress) =>
          previewRemoteSwitch(target, next.storePath, {
            runDir: '/run',
            generation: next.generation,
            copy: () => copyClosure(where, next.storePath),
            elevate: plan.elevate,
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
      const current = activatedStorePath(plan.runDir);
      if (current) {
        dry = plan.elevate.length === 0;
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
    const transitions = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Safe switch: planning state transitions' },
      () =>
        planTransitions(
          services,
          target,
          plan,
          diff?.risks ?? [],
          remote ? (diff?.from.storePath ?? null) : activatedStorePath(plan.runDir),
          next.storePath,
        ),
    );
    const transitionWords = [...transitions.refusals.map((r) => `Refused: ${r}`), ...transitions.lines];
    if (diff) {
      const sizes = remote
        ? []
        : await sizePoints(systemListing(services), [diff.from.storePath, next.storePath]).catch(() => []);
      const words = previewWords(plan, next, {
        from: diff.from.label ?? diff.from.storePath,
        dry,
        transitions: transitionWords,
      });
      const panel = PreviewPanel.show(services.extensionContext.extensionUri, {
        type: 'show',
        mode: 'confirm',
        profileKind: 'system',
        title: words.title,
        note: words.note,
        diff,
        sizes,
      });
      const showId = panel.showId ?? '';
      // a superseded preview's panel shows another preview now: sendFor writes nothing into it
      if ((await panel.waitForDecision()) !== 'switch') {
        panel.sendFor(showId, { type: 'outcome', kind: 'cancelled', text: 'Cancelled: nothing was activated.' });
        return undefined;
      }
      if (transitions.refusals.length > 0) {
        const text = `Not switched: ${transitions.refusals.join(' ')}`;
        panel.sendFor(showId, { type: 'outcome', kind: 'cancelled', text });
        void vscode.window.showErrorMessage(`NixOS Generations: ${text}`);
        return undefined;
      }
      preview = { panel, showId };
    } else if (!(await confirm(confirmWithoutPreview(plan, next, unavailable)))) {
      return undefined;
    }
    if (transitions.commands) log.info(`safe switch: transitions on ${where}: ${transitions.lines.join(' | ')}`);

    if (remote && !copied) await copyClosure(where, next.storePath);
    for (const p of plan.healthProblems) log.warn(`safeSwitch.healthChecks: ${p}`);
    log.info(`safe switch on ${where}: ${next.storePath} (confirm within ${plan.confirmSeconds} s)`);
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Safe switch' },
      (progress) =>
        runSafeSwitch({
          target,
          toplevel: next.storePath,
          profile: plan.profile,
          runDir: plan.runDir,
          confirmSeconds: plan.confirmSeconds,
          healthChecks: plan.healthChecks,
          ...(transitions.commands ? { transition: transitions.commands } : {}),
          elevate: plan.viaTerminal ? [] : plan.elevate,
          ...(plan.viaTerminal ? { privilegedRunner: wrapElevated(plan.elevate) } : {}),
          decide: (context) => askToKeep(context, where, preview),
          onProgress: (p) => {
            log.info(`safe switch: ${p.phase}: ${p.message}`);
            progress.report({ message: p.message });
          },
        }),
    );
    if (machine) await services.explorer.refreshFleet();
    else await services.explorer.refresh();
    const said = report(result, plan);
    preview?.panel.sendFor(preview.showId, {
      type: 'outcome',
      kind: result.outcome,
      text: said.replace(/^NixOS Generations: /, ''),
    });
    if (result.outcome === 'kept' && plan.recordWhenKept) await recordActivation(plan.recordWhenKept);
    return result;
  };

/** Runs privileged steps in the terminal with the elevation prefix. */
function wrapElevated(prefix: readonly string[]): (argv: string[], what: string) => Promise<RunResult> {
  const run = terminalRunner();
  return (argv, what) => run([...prefix, ...argv], what);
}

/** Tells the outcome; returns its words (the preview shows them too). */
function report(result: SafeSwitchResult, plan: SafeSwitchPlan): string {
  const outcome = safeSwitchOutcome(result, plan.where);
  if (outcome.log) log.error(outcome.log);
  if (outcome.level === 'info') void vscode.window.showInformationMessage(outcome.message);
  else if (outcome.level === 'warning') void vscode.window.showWarningMessage(outcome.message);
  else {
    void vscode.window.showErrorMessage(outcome.message, 'Show Log').then((choice) => {
      if (choice) log.show();
    });
  }
  return outcome.message;
}
