/**
 * `nixos-generations switch GENERATION|STORE_PATH [--target-host USER@HOST] [--action switch|boot|test]
 *   [--safe [--confirm-seconds N] [--health-check CHECK]...] [--allow-rename] [--switch-anyway] [--profile P] [--run-dir D]
 *   [--elevation sudo|doas|run0|none]`
 * `nixos-generations rollback [--target-host USER@HOST] [...the same options]`
 *
 * The explorer's switch, rollback and safe switch for scripts and pipelines, on this machine or over ssh. Before
 * anything is activated, the identity guard compares the host the system is built for with the machine it lands
 * on and refuses a mismatch (exit 3) unless --allow-rename. With --safe the system is activated under the target's
 * watchdog: the deadline is printed, the health checks run, and the switch confirms itself when they pass (on a
 * terminal it asks); exit 1 when the target reverted. Over ssh, a new system that changes how the machine is reached
 * (core/diff/reach: an address removed, sshd's port, the firewall…) is switched with --safe by itself, unless
 * --switch-anyway; `--action test` of such a system is refused without one of them.
 *
 * CHECK: `unit:NAME` (systemctl is-active), `url:http(s)://...` (curl/wget on the target), or a shell command run
 * on the target.
 */
import * as readline from 'node:readline';
import { optionValue, parseArgs, UsageError } from '../args';
import type { CliIO } from '../io';
import { parseElevation, type Elevation } from '../../core/deploy/elevation';
import { SWITCH_GENERATION_SCRIPT, type SwitchAction } from '../../core/deploy/switch-generation';
import { readSwitchReach } from '../../core/diff';
import { checkIdentity, readTargetFacts } from '../../core/fleet/identity';
import { planCutOff } from '../../core/plan/cut-off';
import { readRemoteGenerations, SYSTEM_PROFILE } from '../../core/fleet/remote-list';
import type { Generation } from '../../core/generations/types';
import { planSwitchTransitions, type SwitchHooks } from '../../core/plan/transition-switch';
import { safeSwitch, type Decision, type HealthCheck } from '../../core/safeswitch';
import { proposeSwitchTransitions, readPostgresUnits } from '../../core/transitions/detect';
import { remoteElevation, runOnTarget, sshOptsFromEnv, validateHost, type Target } from '../../core/target';

const OPTIONS = {
  'target-host': { value: true },
  action: { value: true },
  safe: {},
  'confirm-seconds': { value: true },
  'health-check': { value: true, repeat: true },
  'allow-rename': {},
  'switch-anyway': {},
  profile: { value: true },
  'run-dir': { value: true },
  elevation: { value: true },
  yes: {},
  'transition-command': { value: true },
  'hook-before': { value: true, repeat: true },
  'hook-after': { value: true, repeat: true },
  'hook-revert': { value: true, repeat: true },
} as const;

/** A JSON argv from the command line (a hook, the transition command). */
function jsonArgv(text: string, flag: string): string[] {
  let argv: unknown;
  try {
    argv = JSON.parse(text);
  } catch {
    throw new UsageError(
      `--${flag} takes a JSON array of strings (an argv), e.g. '["/run/current-system/sw/bin/true"]'`,
    );
  }
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((w) => typeof w === 'string' && !/[\n\r\0]/.test(w))) {
    throw new UsageError(`--${flag} takes a non-empty JSON array of strings without line breaks`);
  }
  return argv as string[];
}

function parseHealthCheck(text: string): HealthCheck {
  if (text.startsWith('unit:') && text.length > 5) return { kind: 'unit', unit: text.slice(5) };
  if (/^url:https?:\/\//.test(text)) return { kind: 'url', url: text.slice(4) };
  if (text.trim() === '') throw new UsageError('an empty --health-check');
  return { kind: 'command', command: text };
}

/** `switch`. */
export async function run(args: string[], io: CliIO): Promise<number> {
  return switchOrRollback(args, io, 'switch');
}

/** `rollback`: the generation before the profile's current one. */
export async function rollback(args: string[], io: CliIO): Promise<number> {
  return switchOrRollback(args, io, 'rollback');
}

async function switchOrRollback(args: string[], io: CliIO, mode: 'switch' | 'rollback'): Promise<number> {
  const parsed = parseArgs(args, OPTIONS);
  const say = (text: string): void => io.err(`nixos-generations ${mode}: ${text}\n`);
  const wanted = parsed.positionals[0];
  if (mode === 'switch' && (wanted === undefined || parsed.positionals.length > 1)) {
    throw new UsageError('give one GENERATION number or STORE_PATH');
  }
  if (mode === 'rollback' && parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  }
  const host = optionValue(parsed, 'target-host');
  if (host !== undefined) {
    const problem = validateHost(host);
    if (problem) throw new UsageError(problem);
  }
  const action = (optionValue(parsed, 'action') ?? 'switch') as SwitchAction;
  if (!['switch', 'boot', 'test'].includes(action)) throw new UsageError(`--action must be switch, boot or test`);
  let safe = parsed.flags.has('safe');
  if (safe && action !== 'switch') {
    throw new UsageError(
      '--safe activates with test, then makes the system the boot default when kept: use --action switch',
    );
  }
  const confirmText = optionValue(parsed, 'confirm-seconds') ?? '120';
  if (!/^\d+$/.test(confirmText) || Number(confirmText) < 1)
    throw new UsageError('--confirm-seconds needs a whole number > 0');
  const checks = (parsed.values.get('health-check') ?? []).map(parseHealthCheck);
  let elevation: Elevation;
  try {
    elevation = parseElevation(optionValue(parsed, 'elevation') ?? 'sudo');
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const profile = optionValue(parsed, 'profile') ?? SYSTEM_PROFILE;
  const runDir = optionValue(parsed, 'run-dir') ?? '/run';
  const target: Target =
    host === undefined ? { kind: 'local' } : { kind: 'ssh', host, sshArgs: sshOptsFromEnv(io.env.NIX_SSHOPTS) };
  const where = host ?? 'this machine';
  const elevate =
    target.kind === 'ssh'
      ? remoteElevation(target.host, elevation)
      : process.getuid?.() === 0 || elevation === 'none'
        ? []
        : [elevation];

  // 1. what is on the target: its generations (one connection), to resolve the number or find the store path
  const listed = await readRemoteGenerations(target, { profile, runDir, localEnv: io.env });
  if (!listed.listing) {
    say(`${where}: unreachable: ${listed.problem?.message ?? 'no answer'}`);
    return 1;
  }
  const generations = listed.listing.generations;
  const current = generations.find((g) => g.current) ?? null;
  let chosen: Generation | null = null;
  let toplevel: string;
  if (mode === 'rollback') {
    if (!current) {
      say(`${profile} on ${where} has no current generation`);
      return 1;
    }
    chosen =
      [...generations]
        .filter((g) => g.generation < current.generation && !g.missing)
        .sort((a, b) => b.generation - a.generation)[0] ?? null;
    if (!chosen) {
      say(`no generation before ${current.generation} in ${profile} on ${where}`);
      return 1;
    }
    toplevel = chosen.storePath;
  } else if (/^\d+$/.test(wanted!)) {
    chosen = generations.find((g) => g.generation === Number(wanted)) ?? null;
    if (!chosen) {
      say(`${profile} on ${where} has no generation ${wanted}`);
      return 1;
    }
    toplevel = chosen.storePath;
  } else if (wanted!.startsWith('/')) {
    toplevel = wanted!.replace(/\/+$/, '');
    chosen = generations.find((g) => g.storePath === toplevel) ?? null;
  } else {
    throw new UsageError(`'${wanted}' is neither a generation number nor an absolute store path`);
  }
  if (chosen?.missing) {
    say(`generation ${chosen.generation} was garbage-collected on ${where}: ${chosen.storePath} is gone`);
    return 1;
  }

  // 2. the identity guard
  let facts;
  try {
    facts = await readTargetFacts(target, toplevel, { runDir, localEnv: io.env });
  } catch (error) {
    say(error instanceof Error ? error.message : String(error));
    return 1;
  }
  if (!facts.systemPresent) {
    say(
      `${toplevel} is not on ${where} (or has no bin/switch-to-configuration): copy it there first (nix copy --to ssh://...)`,
    );
    return 1;
  }
  const verdict = checkIdentity(facts.system, facts.machine, parsed.flags.has('allow-rename'));
  if (verdict.status === 'mismatch') {
    say(verdict.message);
    return 3;
  }
  if (verdict.status !== 'match') say(verdict.message);

  // 2b. changes that cut you off: a remote switch of such a change goes through safe switch unless insisted on
  if (target.kind === 'ssh') {
    const { findings, problem } = await readSwitchReach(target, toplevel, { runDir, localEnv: io.env });
    if (problem) say(`how ${where} is reached after the switch could not be compared: ${problem}`);
    const guard = planCutOff({
      findings,
      remote: true,
      safe,
      insist: parsed.flags.has('switch-anyway'),
      action,
      where,
      interactive: false,
    });
    if (guard.kind === 'refuse') {
      say(guard.note);
      return 1;
    }
    if (guard.kind === 'safe') {
      say(guard.note);
      safe = true;
    } else if (guard.kind === 'proceed' && guard.note) say(guard.note);
  }

  // 3a. safe switch, with the state transitions the two systems need (a PostgreSQL major change) and the hooks
  if (safe) {
    io.out(`safe switch of ${where} to ${toplevel}\n`);
    const hooks: SwitchHooks = {
      beforeSwitch: (parsed.values.get('hook-before') ?? []).map((t) => jsonArgv(t, 'hook-before')),
      afterSwitch: (parsed.values.get('hook-after') ?? []).map((t) => jsonArgv(t, 'hook-after')),
      onRevert: (parsed.values.get('hook-revert') ?? []).map((t) => jsonArgv(t, 'hook-revert')),
    };
    const commandText = optionValue(parsed, 'transition-command');
    const cli = commandText === undefined ? ['nixos-generations'] : jsonArgv(commandText, 'transition-command');
    let units;
    try {
      units = await readPostgresUnits(target, `${runDir}/current-system`, toplevel, { localEnv: io.env });
    } catch (error) {
      say(`${(error as Error).message}; no state transition is planned`);
    }
    // the CLI has no closure diff: the units alone say whether PostgreSQL changes major
    const transitions = planSwitchTransitions({
      proposals: proposeSwitchTransitions([], units ?? null),
      ...(units ? { postgres: units } : {}),
      hooks,
      cli,
    });
    if (transitions.refusals.length > 0) {
      for (const r of transitions.refusals) say(`refused: ${r}`);
      return 1;
    }
    for (const line of transitions.lines) io.out(`${line}\n`);
    const result = await safeSwitch({
      ...(transitions.commands ? { transition: transitions.commands } : {}),
      target,
      toplevel,
      profile,
      runDir,
      confirmSeconds: Number(confirmText),
      healthChecks: checks,
      elevate,
      localEnv: io.env,
      decide: (context) => decideOnTerminal(io, context.deadline, context.signal, parsed.flags.has('yes')),
      onProgress: (p) => {
        if (p.phase === 'waiting' && p.deadline) {
          io.out(
            `deadline: ${new Date(p.deadline).toISOString()} (in ${Math.max(0, Math.round((p.deadline - Date.now()) / 1000))} s): ${where} reverts by itself unless confirmed\n`,
          );
        } else io.out(`${p.phase}: ${p.message}\n`);
      },
    });
    for (const h of result.health)
      io.out(`health: ${h.ok ? 'ok' : 'FAILED'} ${h.title}${h.detail ? ` (${h.detail})` : ''}\n`);
    if (result.outcome === 'kept') {
      io.out(`${where} runs ${toplevel} and boots it by default\n`);
      return 0;
    }
    say(`${result.outcome}: ${result.reason}`);
    return result.outcome === 'reverted' ? 1 : 1;
  }

  // 3b. plain switch: the generation's own switch-to-configuration, profile put back when it fails
  if (!chosen) {
    say(
      `${toplevel} is not a generation of ${profile} on ${where}: use --safe (it becomes the boot default when kept)`,
    );
    return 1;
  }
  if (!facts.nixEnv) {
    say(`nix-env is not on the PATH of ${where}`);
    return 1;
  }
  const previous = current && current.generation !== chosen.generation ? String(current.generation) : '';
  const r = await runOnTarget(
    target,
    [
      'sh',
      '-c',
      SWITCH_GENERATION_SCRIPT,
      'nixgen-switch',
      facts.nixEnv,
      profile,
      String(chosen.generation),
      toplevel,
      action,
      previous,
    ],
    { elevate, localEnv: io.env, timeoutMs: 15 * 60_000 },
  );
  io.out(r.stdout);
  io.err(r.stderr);
  if (r.exitCode !== 0) {
    say(`${action} of generation ${chosen.generation} on ${where} failed (exit ${r.exitCode ?? r.signal})`);
    return 1;
  }
  return 0;
}

/** Keeps when the health checks passed: asks on a terminal (unless --yes), confirms by itself otherwise. */
function decideOnTerminal(io: CliIO, deadline: number, signal: AbortSignal, yes: boolean): Promise<Decision> {
  if (yes || !process.stdin.isTTY) {
    io.out('health checks passed: confirming\n');
    return Promise.resolve('keep');
  }
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    rl.question(`keep this configuration? [y/N] (reverts in ${left} s) `, (answer) => {
      rl.close();
      resolve(/^y(es)?$/i.test(answer.trim()) ? 'keep' : 'revert');
    });
    signal.addEventListener('abort', () => rl.close(), { once: true });
  });
}
