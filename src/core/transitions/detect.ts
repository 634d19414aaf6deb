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
