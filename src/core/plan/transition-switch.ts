/**
 * The state transitions of a safe switch: which commands the target's watchdog runs before the new system is
 * activated (the data migration and the user's `beforeSwitch` hooks), once it is active (`afterSwitch` hooks) and
 * after a revert (the recovery path and `onRevert` hooks), and the words the preview shows before anything runs.
 *
 * Everything runs on the target through the `nixos-generations transition …` command, whose journal lives under
 * /var/lib/nixos-generations/transitions (root's): it resumes or recovers after a lost connection, a closed editor
 * or a reboot. The commands are argv arrays; hooks come only from machine-scoped settings.
 */
import { DEFAULT_JOURNAL_DIR } from '../transitions/journal';
import { formatPlan, type TransitionPlan } from '../transitions/plan';
import type { PostgresUnitFacts, TransitionProposal } from '../transitions/detect';
import type { TransitionCommands } from '../safeswitch/protocol';

/** The user's hooks for one host (argv arrays), from the machine-scoped `transitions.hooks` setting. */
export interface SwitchHooks {
  beforeSwitch: string[][];
  afterSwitch: string[][];
  onRevert: string[][];
}

export const NO_SWITCH_HOOKS: SwitchHooks = { beforeSwitch: [], afterSwitch: [], onRevert: [] };

export interface SwitchTransitionInput {
  proposals: readonly TransitionProposal[];
  /** The running (old) and the new system's PostgreSQL facts, when a PostgreSQL transition is proposed. */
  postgres?: { old: PostgresUnitFacts; new: PostgresUnitFacts };
  hooks: SwitchHooks;
  /** The argv that runs `nixos-generations` on the target (machine-scoped setting). */
  cli: readonly string[];
  /** The user PostgreSQL runs as on the target (NixOS: postgres). */
  postgresUser?: string;
  /** How to migrate (default: pg_upgrade up, dump and restore down). */
  postgresMethod?: 'upgrade' | 'dump';
  /** More `transition postgresql` options (`--backup-dir`, `--client-bin`, `--port`, `--no-checksum`). */
  postgresOptions?: readonly string[];
  /** Where the journals live on the target (default /var/lib/nixos-generations/transitions). */
  journalDir?: string;
  /** The plan as the target computed it (`transition postgresql … --plan --json`), when it could be read. */
  targetPlan?: TransitionPlan | null;
  /** Why the target's plan could not be read. */
  targetPlanProblem?: string | null;
  /** What the target's check refused (not enough space, a new data directory in use …). */
  targetProblems?: readonly string[];
}

export interface SwitchTransitionPlan {
  /** Nothing to do: no transition proposed and no hooks. */
  none: boolean;
  /** The preview's words: one block per transition (steps, time, disk, undo) and the hooks. */
  lines: string[];
  /** Reasons the switch must not run (a skipped Nextcloud major, a PostgreSQL change that cannot be migrated). */
  refusals: string[];
  /** What the watchdog runs; undefined when nothing. */
  commands: TransitionCommands | undefined;
  /** The journal on the target. */
  journal: string;
  /** The `--plan --json` argv to ask the target for the exact plan (sizes), when a PostgreSQL transition runs. */
  planArgv: string[] | null;
}

/** Stops or starts NixOS' postgresql.service where systemd has it (a fixed script; no value in its text). */
function serviceControl(action: 'stop' | 'start'): string[] {
  return [
    'sh',
    '-c',
    'if command -v systemctl >/dev/null 2>&1 && systemctl cat postgresql.service >/dev/null 2>&1; then systemctl "$1" postgresql.service; fi',
    'nixgen-postgresql-service',
    action,
  ];
}

const hookFlags = (flag: string, hooks: readonly string[][]): string[] =>
  hooks.flatMap((argv) => [flag, JSON.stringify(argv)]);

/** Seconds the migration may take: three times the plan's estimate, at least ten minutes. */
function timeoutOf(plan: TransitionPlan | null | undefined): number {
  const estimate = plan ? plan.steps.reduce((sum, s) => sum + s.seconds, 0) : 0;
  return Math.max(600, Math.ceil(estimate * 3));
}

export function planSwitchTransitions(input: SwitchTransitionInput): SwitchTransitionPlan {
  const { proposals, hooks } = input;
  const cli = [...input.cli];
  const lines: string[] = [];
  const refusals: string[] = [];
  const pg = proposals.find((p) => p.kind === 'postgresql');
  for (const nc of proposals.filter((p) => p.kind === 'nextcloud')) {
    if (nc.direction === 'downgrade') {
      refusals.push(
        `Nextcloud ${nc.from} → ${nc.to} is a downgrade: Nextcloud cannot go back; restore a backup instead.`,
      );
    } else if (nc.toMajor - nc.fromMajor > 1) {
      const path = Array.from({ length: nc.toMajor - nc.fromMajor + 1 }, (_, i) => nc.fromMajor + i).join(' → ');
      refusals.push(
        `Nextcloud ${nc.from} → ${nc.to} skips ${nc.toMajor - nc.fromMajor - 1} major(s): switch one major at a ` +
          `time (${path}), letting occ upgrade run after each.`,
      );
    } else {
      lines.push(
        `Nextcloud ${nc.from} → ${nc.to}: one major; NixOS' nextcloud-setup runs occ upgrade when the new system ` +
          'starts. Back up its database first (a beforeSwitch hook).',
      );
    }
  }

  const before: string[][] = [];
  let after: string[] = [];
  let revert: string[] = [];
  const journalDir = input.journalDir ?? DEFAULT_JOURNAL_DIR;
  let journal = `${journalDir}/hooks.json`;
  let planArgv: string[] | null = null;
  let migration: string[] | null = null;

  if (pg) {
    journal = `${journalDir}/postgresql.json`;
    const oldBin = input.postgres?.old.bin ?? null;
    const newBin = input.postgres?.new.bin ?? null;
    const oldData = input.postgres?.old.data ?? pg.oldData ?? null;
    const newData = input.postgres?.new.data ?? pg.newData ?? null;
    const missing = [
      oldBin ? null : "the running system's PostgreSQL package (ExecStart of postgresql.service)",
      newBin ? null : "the new system's PostgreSQL package (ExecStart of postgresql.service)",
      oldData ? null : 'the old data directory',
      newData ? null : 'the new data directory',
    ].filter((m): m is string => m !== null);
    if (missing.length > 0) {
      refusals.push(
        `PostgreSQL ${pg.fromMajor} → ${pg.toMajor} needs a migration, but ${missing.join(', ')} could not be found: ` +
          'switching would start the new major on an empty data directory.',
      );
    } else if (oldData === newData) {
      refusals.push(
        `PostgreSQL ${pg.fromMajor} → ${pg.toMajor} on the same data directory ${oldData}: the new major cannot read ` +
          'it; give each major its own directory (the NixOS default /var/lib/postgresql/<major>).',
      );
    } else if ((input.targetProblems ?? []).length > 0) {
      refusals.push(
        ...input.targetProblems!.map((p) => `PostgreSQL ${pg.fromMajor} → ${pg.toMajor} cannot be migrated: ${p}`),
      );
      planArgv = null;
    } else {
      const common = [
        'transition',
        'postgresql',
        '--old-bin',
        oldBin!,
        '--new-bin',
        newBin!,
        '--old-data',
        oldData!,
        '--new-data',
        newData!,
        '--method',
        input.postgresMethod ?? (pg.direction === 'upgrade' ? 'upgrade' : 'dump'),
        '--run-as',
        input.postgresUser ?? 'postgres',
        '--journal',
        journal,
        ...(input.postgresOptions ?? []),
      ];
      planArgv = [...cli, ...common, '--plan', '--json'];
      // The old server runs under systemd: stop it there first, so that systemd does not restart it mid-way.
      migration = [
        ...cli,
        ...common,
        '--yes',
        ...hookFlags('--hook-before', [serviceControl('stop'), ...hooks.beforeSwitch]),
        ...hookFlags('--hook-revert', [serviceControl('start'), ...hooks.onRevert]),
      ];
      revert = [...cli, 'transition', 'postgresql', '--revert', '--journal', journal];
      if (input.targetPlan) lines.push(formatPlan(input.targetPlan).trimEnd());
      else {
        const method = input.postgresMethod ?? (pg.direction === 'upgrade' ? 'upgrade' : 'dump');
        lines.push(
          `PostgreSQL ${pg.fromMajor} → ${pg.toMajor} by ${method === 'upgrade' ? 'pg_upgrade (copy mode)' : 'dump and restore'}: ` +
            `check → back up → migrate ${oldData} into ${newData} → verify row counts and checksums → switch → keep ` +
            `the old data until you delete it. (The exact plan with sizes could not be read from the target: ` +
            `${input.targetPlanProblem ?? 'not asked'}.)`,
        );
      }
      lines.push(
        'It runs on the target before the new system is activated, inside the confirm-or-revert window: a failed ' +
          'step puts the old data back and nothing is activated; a revert moves the new data directory aside and ' +
          `the old PostgreSQL runs on ${oldData} again. Journal: ${journal}.`,
      );
    }
  }

  if (!pg || refusals.length > 0) {
    if (hooks.beforeSwitch.length > 0) {
      before.push([
        ...cli,
        'transition',
        'hooks',
        '--phase',
        'before',
        '--journal',
        journal,
        ...hookFlags('--hook', hooks.beforeSwitch),
      ]);
    }
    if (hooks.onRevert.length > 0) {
      revert = [
        ...cli,
        'transition',
        'hooks',
        '--phase',
        'revert',
        '--journal',
        journal,
        ...hookFlags('--hook', hooks.onRevert),
      ];
    }
  } else if (migration) before.push(migration);
  if (hooks.afterSwitch.length > 0) {
    after = [
      ...cli,
      'transition',
      'hooks',
      '--phase',
      'after',
      '--journal',
      journal,
      ...hookFlags('--hook', hooks.afterSwitch),
    ];
  }
  const hookWords = (name: string, list: readonly string[][]): string | null =>
    list.length > 0 ? `${name}: ${list.map((argv) => argv.join(' ')).join('; ')}` : null;
  const hookLines = [
    hookWords('before the switch', hooks.beforeSwitch),
    hookWords('after the switch (a failure reverts)', hooks.afterSwitch),
    hookWords('on revert', hooks.onRevert),
  ].filter((l): l is string => l !== null);
  if (hookLines.length > 0) lines.push(`Hooks on the target, recorded in ${journal}: ${hookLines.join(' · ')}.`);

  // One `before` command: the migration carries the beforeSwitch hooks itself.
  const beforeArgv = before[0] ?? [];
  const none = beforeArgv.length === 0 && after.length === 0 && revert.length === 0 && lines.length === 0;
  return {
    none: none && refusals.length === 0,
    lines,
    refusals,
    commands:
      refusals.length > 0 || (beforeArgv.length === 0 && after.length === 0 && revert.length === 0)
        ? undefined
        : { before: beforeArgv, after, revert, timeoutSeconds: timeoutOf(input.targetPlan) },
    journal,
    planArgv,
  };
}

/** The per-host hooks from the setting's value: `{ "<host>" | "local" | "*": { beforeSwitch, afterSwitch, onRevert } }`. */
export function hooksForHost(value: unknown, host: string): { hooks: SwitchHooks; problems: string[] } {
  const problems: string[] = [];
  const hooks: SwitchHooks = { beforeSwitch: [], afterSwitch: [], onRevert: [] };
  if (value === undefined || value === null) return { hooks, problems };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { hooks, problems: ['transitions.hooks must be an object keyed by host'] };
  }
  const table = value as Record<string, unknown>;
  for (const key of ['*', host]) {
    const entry = table[key];
    if (entry === undefined) continue;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`transitions.hooks["${key}"] must be an object`);
      continue;
    }
    for (const phase of ['beforeSwitch', 'afterSwitch', 'onRevert'] as const) {
      const list = (entry as Record<string, unknown>)[phase];
      if (list === undefined) continue;
      if (!Array.isArray(list)) {
        problems.push(`transitions.hooks["${key}"].${phase} must be a list of commands (arrays of strings)`);
        continue;
      }
      list.forEach((argv, i) => {
        if (
          Array.isArray(argv) &&
          argv.length > 0 &&
          argv.every((w) => typeof w === 'string' && !/[\n\r\0]/.test(w)) &&
          (argv[0] as string).startsWith('/')
        ) {
          hooks[phase].push(argv as string[]);
        } else {
          problems.push(
            `transitions.hooks["${key}"].${phase}[${i}] skipped: a command is a non-empty array of strings whose ` +
              'first word is an absolute path, with no line breaks',
          );
        }
      });
    }
  }
  return { hooks, problems };
}
