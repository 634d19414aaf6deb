/**
 * Nextcloud upgrades one major at a time (its updater refuses to skip one, and an instance whose code is two
 * majors ahead of its database stops working). A switch that moves Nextcloud across several majors becomes a plan:
 * maintenance mode, a backup, then per major the package of that major (nixpkgs' `nextcloud<N>` attributes),
 * `occ upgrade` and a status check, and maintenance mode off. Missing intermediate packages or a downgrade are
 * refused, never skipped.
 *
 * The steps are argv arrays run through an injected runner (on a target: the target's command runner), so the
 * planner and the executor are tested against recorded `occ` calls; no Nextcloud runs on the test machines.
 */
import type { PlannedStep, TransitionPlan } from './plan';

export interface NextcloudPackage {
  /** The nixpkgs attribute ("nextcloud29"). */
  attribute: string;
  /** Its version ("29.0.8"). */
  version: string;
}

export interface NextcloudStep {
  id: string;
  title: string;
  /** The package the system runs during this step (null: not a package step). */
  package: NextcloudPackage | null;
  /** Commands run on the target, in order (argv arrays; `occ` is NixOS' `nextcloud-occ` wrapper). */
  commands: string[][];
  /** Version `occ status` must report after the step (major.minor.patch prefix), if any. */
  expectVersion: string | null;
}

export interface NextcloudTransition {
  plan: TransitionPlan;
  steps: NextcloudStep[];
}

export type NextcloudPlanResult = { ok: true; transition: NextcloudTransition } | { ok: false; problems: string[] };

function major(version: string): number | null {
  const m = /^(\d+)\./.exec(version);
  return m ? Number(m[1]) : null;
}

export const OCC = 'nextcloud-occ';

/**
 * The plan from the running version to the target one. `available` lists the Nextcloud packages the new system's
 * nixpkgs offers (attribute and version), from which the intermediate majors are taken.
 */
export function planNextcloud(
  from: string,
  to: string,
  available: readonly NextcloudPackage[],
  backupCommand: string[] | null = null,
): NextcloudPlanResult {
  const a = major(from);
  const b = major(to);
  if (a === null || b === null) return { ok: false, problems: [`cannot read Nextcloud versions ${from} → ${to}`] };
  if (b < a) {
    return {
      ok: false,
      problems: [
        `Nextcloud cannot go down from ${a} to ${b}: its database was upgraded. Restore the backup made before ` +
          `the upgrade to ${a} instead.`,
      ],
    };
  }
  if (a === b) return { ok: false, problems: [`Nextcloud stays on major ${a}: no transition needed`] };
  const byMajor = new Map<number, NextcloudPackage>();
  for (const p of available) {
    const m = major(p.version);
    if (m === null) continue;
    const known = byMajor.get(m);
    // The newest release of each major: the one its upgrade path is tested with.
    if (!known || compareVersions(p.version, known.version) > 0) byMajor.set(m, p);
  }
  const problems: string[] = [];
  const chain: NextcloudPackage[] = [];
  for (let m = a + 1; m <= b; m++) {
    const p = m === b ? (available.find((x) => x.version === to) ?? byMajor.get(m)) : byMajor.get(m);
    if (!p) problems.push(`no Nextcloud ${m} package in this nixpkgs: the upgrade ${a} → ${b} cannot skip it`);
    else chain.push(p);
  }
  if (problems.length > 0) return { ok: false, problems };

  const steps: NextcloudStep[] = [
    {
      id: 'check',
      title: 'Check',
      package: null,
      commands: [[OCC, 'status', '--output=json']],
      expectVersion: from,
    },
    {
      id: 'maintenance-on',
      title: 'Maintenance mode on',
      package: null,
      commands: [[OCC, 'maintenance:mode', '--on']],
      expectVersion: null,
    },
    {
      id: 'backup',
      title: 'Back up',
      package: null,
      commands: backupCommand ? [backupCommand] : [],
      expectVersion: null,
    },
  ];
  for (const p of chain) {
    steps.push({
      id: `upgrade-${major(p.version)}`,
      title: `Nextcloud ${major(p.version)} (${p.attribute} ${p.version})`,
      package: p,
      commands: [
        [OCC, 'upgrade'],
        [OCC, 'status', '--output=json'],
      ],
      expectVersion: p.version,
    });
  }
  steps.push({
    id: 'maintenance-off',
    title: 'Maintenance mode off',
    package: null,
    commands: [
      [OCC, 'maintenance:mode', '--off'],
      [OCC, 'status', '--output=json'],
    ],
    expectVersion: to,
  });

  const planned: PlannedStep[] = steps.map((s) => ({
    id: s.id,
    title: s.title,
    does: s.package
      ? `switch to a system with services.nextcloud.package = pkgs.${s.package.attribute}, then ${s.commands.map((c) => c.join(' ')).join('; ')}`
      : s.commands.length > 0
        ? s.commands.map((c) => c.join(' ')).join('; ')
        : 'no backup command is set for this host: set one before running',
    seconds: s.package ? 120 : 5,
    diskBytes: 0,
    undo: s.package
      ? 'restore the backup and switch back to the previous generation (Nextcloud has no downgrade)'
      : s.id === 'maintenance-on'
        ? `${OCC} maintenance:mode --off`
        : 'nothing to undo',
  }));
  return {
    ok: true,
    transition: {
      steps,
      plan: {
        kind: 'nextcloud',
        summary: `Nextcloud ${from} → ${to} one major at a time (${chain.map((p) => major(p.version)).join(' → ')})`,
        steps: planned,
        notes: backupCommand ? [] : ['no backup command set: the plan cannot run until one is'],
      },
    },
  };
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number(x) || 0);
  const pb = b.split(/[.-]/).map((x) => Number(x) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export interface CommandOutcome {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export interface NextcloudExecutor {
  /** Runs one command on the target. */
  run(argv: string[]): Promise<CommandOutcome>;
  /** Switches the target to a system whose Nextcloud is `pkg` (built by the caller from the workspace flake). */
  switchTo(pkg: NextcloudPackage): Promise<void>;
}

export interface NextcloudRunReport {
  ok: boolean;
  done: string[];
  failedStep?: string;
  error?: string;
}

/** `occ status --output=json`'s version (e.g. "29.0.8.2" → compared by prefix with the package version). */
export function occStatusVersion(
  stdout: string,
): { version: string; maintenance: boolean; needsDbUpgrade: boolean } | null {
  const start = stdout.indexOf('{');
  if (start === -1) return null;
  try {
    const j = JSON.parse(stdout.slice(start)) as {
      versionstring?: unknown;
      version?: unknown;
      maintenance?: unknown;
      needsDbUpgrade?: unknown;
    };
    const version =
      typeof j.versionstring === 'string' ? j.versionstring : typeof j.version === 'string' ? j.version : null;
    if (!version) return null;
    return { version, maintenance: j.maintenance === true, needsDbUpgrade: j.needsDbUpgrade === true };
  } catch {
    return null;
  }
}

/**
 * Runs the steps in order; `done` lists steps already finished (from the journal) and skipped. Stops at the first
 * failing command or a status that does not show the expected version, and says where.
 */
export async function runNextcloud(
  transition: NextcloudTransition,
  exec: NextcloudExecutor,
  done: readonly string[] = [],
): Promise<NextcloudRunReport> {
  const finished = [...done];
  for (const step of transition.steps) {
    if (finished.includes(step.id)) continue;
    try {
      if (step.id === 'backup' && step.commands.length === 0) throw new Error('no backup command is set for this host');
      if (step.package) await exec.switchTo(step.package);
      let lastStatus: ReturnType<typeof occStatusVersion> = null;
      for (const argv of step.commands) {
        const r = await exec.run(argv);
        if (r.exitCode !== 0) {
          throw new Error(
            `${argv.join(' ')} exited with ${r.exitCode ?? 'a signal'}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`,
          );
        }
        if (argv[1] === 'status') lastStatus = occStatusVersion(r.stdout);
      }
      if (step.expectVersion !== null) {
        if (!lastStatus) throw new Error('occ status did not report a version');
        if (!lastStatus.version.startsWith(step.expectVersion.split('.').slice(0, 2).join('.'))) {
          throw new Error(`occ status reports ${lastStatus.version}, expected ${step.expectVersion}`);
        }
        if (lastStatus.needsDbUpgrade)
          throw new Error(`Nextcloud ${lastStatus.version} still needs a database upgrade`);
      }
      finished.push(step.id);
    } catch (error) {
      return { ok: false, done: finished, failedStep: step.id, error: (error as Error).message };
    }
  }
  return { ok: true, done: finished };
}
