/**
 * A transition is a plan of steps that move a service's state alongside a switch (check → back up → migrate →
 * verify → switch → keep, or restore). The plan is plain data, shown before anything runs: what each step does,
 * how long it may take, how much disk it needs and how it is undone.
 */

export interface PlannedStep {
  id: string;
  title: string;
  /** What the step does, in words. */
  does: string;
  /** Expected duration, seconds (an estimate from the data size; shown rounded). */
  seconds: number;
  /** Disk space the step needs, bytes (0: none). */
  diskBytes: number;
  /** How the step is undone when a later step fails (or "nothing to undo"). */
  undo: string;
  /** Runs somewhere else (the switch itself, done by safe switch), listed so the order is visible. */
  external?: boolean;
}

export interface TransitionPlan {
  kind: 'postgresql' | 'nextcloud' | 'hooks';
  /** One line: "PostgreSQL 14 → 15 by pg_upgrade". */
  summary: string;
  steps: PlannedStep[];
  /** Things the user should know before saying yes (refusals are errors, not notes). */
  notes: string[];
}

export function formatBytes(bytes: number): string {
  if (bytes <= 0) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 1) return '< 1 s';
  if (seconds < 90) return `~${Math.round(seconds)} s`;
  if (seconds < 5400) return `~${Math.round(seconds / 60)} min`;
  return `~${(seconds / 3600).toFixed(1)} h`;
}

/** The plan as text for a terminal or a preview: one numbered block per step. */
export function formatPlan(plan: TransitionPlan): string {
  const lines = [`Transition: ${plan.summary}`];
  plan.steps.forEach((step, i) => {
    const cost = [formatSeconds(step.seconds), step.diskBytes > 0 ? `needs ${formatBytes(step.diskBytes)}` : null]
      .filter(Boolean)
      .join(', ');
    lines.push(
      `  ${i + 1}. ${step.title}${step.external ? ' (done by the switch, not by this command)' : ''} [${cost}]`,
    );
    lines.push(`     ${step.does}`);
    lines.push(`     undo: ${step.undo}`);
  });
  for (const note of plan.notes) lines.push(`  note: ${note}`);
  return `${lines.join('\n')}\n`;
}
