/**
 * Which transitions a switch needs, from the risks the diff already finds (serviceRisks: a stateful service whose
 * major changes between the running and the new system). One place decides; the preview and the CLI show it.
 */
import type { Risk } from '../diff/risk';

export interface TransitionProposal {
  kind: 'postgresql' | 'nextcloud';
  from: string;
  to: string;
  fromMajor: number;
  toMajor: number;
  direction: 'upgrade' | 'downgrade';
  /** How it will be done, in words. */
  method: string;
  /** The data directory NixOS uses for each side (PostgreSQL: /var/lib/postgresql/<major>). */
  oldData?: string;
  newData?: string;
}

const POSTGRES_PACKAGES = new Set(['postgresql', 'postgresql-and-plugins']);

function majorOf(version: string | null): number | null {
  const m = version ? /^(\d+)/.exec(version) : null;
  return m ? Number(m[1]) : null;
}

export function proposeTransitions(risks: readonly Risk[]): TransitionProposal[] {
  const out: TransitionProposal[] = [];
  for (const risk of risks) {
    if (risk.kind !== 'service-major-upgrade' && risk.kind !== 'service-major-downgrade') continue;
    const a = majorOf(risk.before);
    const b = majorOf(risk.after);
    if (a === null || b === null || a === b) continue;
    const direction = b > a ? 'upgrade' : 'downgrade';
    if (POSTGRES_PACKAGES.has(risk.subject)) {
      if (out.some((p) => p.kind === 'postgresql')) continue;
      out.push({
        kind: 'postgresql',
        from: risk.before!,
        to: risk.after!,
        fromMajor: a,
        toMajor: b,
        direction,
        method: direction === 'upgrade' ? 'pg_upgrade (copy mode)' : 'dump and restore',
        oldData: `/var/lib/postgresql/${a}`,
        newData: `/var/lib/postgresql/${b}`,
      });
    } else if (risk.subject === 'nextcloud') {
      out.push({
        kind: 'nextcloud',
        from: risk.before!,
        to: risk.after!,
        fromMajor: a,
        toMajor: b,
        direction,
        method:
          direction === 'upgrade'
            ? `one major at a time (${b - a} step${b - a === 1 ? '' : 's'}, occ upgrade between)`
            : 'refused: no downgrade; restore a backup',
      });
    }
  }
  return out;
}

/**
 * The transitions a switch needs, in words for the switch preview: per transition its steps in order, where the
 * switch itself comes, and the command that runs it (the CLI, on the target, before the switch is kept).
 */
export function describeProposals(proposals: readonly TransitionProposal[]): string[] {
  return proposals.map((p) => {
    if (p.kind === 'postgresql') {
      const method = p.direction === 'upgrade' ? 'upgrade' : 'dump';
      return (
        `PostgreSQL ${p.fromMajor} → ${p.toMajor} needs a data migration (${p.method}): check → back up → migrate ` +
        `${p.oldData} into ${p.newData} → verify row counts and checksums → switch → keep the old data until you ` +
        `confirm. Run it before switching: nixos-generations transition postgresql --method ${method} ` +
        `--old-data ${p.oldData} --new-data ${p.newData} --old-bin … --new-bin … (the old and new packages' bin).`
      );
    }
    if (p.direction === 'downgrade') {
      return `Nextcloud ${p.from} → ${p.to} is a downgrade: Nextcloud cannot go back; restore the backup made before the upgrade instead.`;
    }
    return p.toMajor - p.fromMajor > 1
      ? `Nextcloud ${p.from} → ${p.to} skips ${p.toMajor - p.fromMajor - 1} major(s): upgrade one major at a time ` +
          `(${Array.from({ length: p.toMajor - p.fromMajor }, (_, i) => p.fromMajor + 1 + i).join(' → ')}), with occ upgrade between.`
      : `Nextcloud ${p.from} → ${p.to}: back up, then occ upgrade after the switch.`;
  });
}
