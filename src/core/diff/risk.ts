/**
 * Which changes of a diff deserve to be shown first: a new major version of a service that keeps state (its data
 * may need a manual migration), a different system.stateVersion, a different kernel (a reboot is needed to run it).
 */
import type { PackageChange } from './closure';
import { majorVersion } from './names';

/** A service whose major upgrades need care, by the package names that carry it. */
export interface StatefulServiceRule {
  /** The service ("postgresql"). */
  service: string;
  /** Package names (as split from store names) that belong to it; a trailing `*` matches a prefix. */
  packages: string[];
  /** What to do about a major upgrade, one sentence. */
  advice: string;
  /** True when even minor-version jumps can skip required steps (Nextcloud: one major at a time). */
  oneMajorAtATime?: boolean;
}

/**
 * A small built-in table, used until (or unless) the lint rule database provides its own: the services known to
 * need manual steps on a major upgrade. Advice is our own wording.
 */
export const BUILTIN_STATEFUL_RULES: readonly StatefulServiceRule[] = [
  {
    service: 'postgresql',
    packages: ['postgresql', 'postgresql-and-plugins'],
    advice: 'A new PostgreSQL major cannot read the old data directory: run pg_upgrade or dump and restore.',
  },
  {
    service: 'nextcloud',
    packages: ['nextcloud'],
    advice: 'Nextcloud upgrades one major at a time; skipping a major breaks the instance.',
    oneMajorAtATime: true,
  },
  {
    service: 'mysql / mariadb',
    packages: ['mariadb', 'mariadb-server', 'mysql'],
    advice: 'Back up the databases; run mariadb-upgrade / mysql_upgrade after the switch.',
  },
  {
    service: 'mongodb',
    packages: ['mongodb', 'mongodb-ce'],
    advice: 'MongoDB upgrades one major at a time, with featureCompatibilityVersion set between the steps.',
    oneMajorAtATime: true,
  },
  {
    service: 'gitlab',
    packages: ['gitlab', 'gitlab-ee'],
    advice: 'GitLab must follow its upgrade path; background migrations must finish before the next step.',
    oneMajorAtATime: true,
  },
  {
    service: 'keycloak',
    packages: ['keycloak'],
    advice: 'Keycloak migrates its database on start, one way: back it up first.',
  },
  { service: 'netbox', packages: ['netbox'], advice: 'NetBox migrates its database on start: back it up first.' },
  { service: 'dovecot', packages: ['dovecot'], advice: 'Dovecot 2.4 changed its configuration format.' },
  {
    service: 'matrix-synapse',
    packages: ['matrix-synapse', 'matrix-synapse-unwrapped'],
    advice: 'Synapse migrates its database on start, one way: back it up first.',
  },
  {
    service: 'meilisearch',
    packages: ['meilisearch'],
    advice: 'Meilisearch indexes are tied to the version: dump and restore them.',
  },
  { service: 'pict-rs', packages: ['pict-rs'], advice: 'pict-rs migrates its database on a major upgrade.' },
  {
    service: 'immich',
    packages: ['immich', 'immich-server'],
    advice: 'Immich migrates its database on start; check the release notes first.',
  },
  {
    service: 'paperless-ngx',
    packages: ['paperless-ngx'],
    advice: 'Paperless-ngx majors migrate the database and the search index; back up first.',
  },
];

export type RiskKind = 'service-major-upgrade' | 'service-major-downgrade' | 'stateversion-changed' | 'kernel-changed';

export interface Risk {
  kind: RiskKind;
  severity: 'error' | 'warning' | 'information';
  /** One line for the top of the preview. */
  message: string;
  /** Package or setting concerned. */
  subject: string;
  before: string | null;
  after: string | null;
}

function matches(rule: StatefulServiceRule, name: string): boolean {
  return rule.packages.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
}

function newestMajor(versions: readonly string[]): number | null {
  let best: number | null = null;
  for (const v of versions) {
    const m = majorVersion(v);
    if (m !== null && (best === null || m > best)) best = m;
  }
  return best;
}

/** Major-version changes of stateful services among the package changes. */
export function serviceRisks(
  changes: readonly PackageChange[],
  rules: readonly StatefulServiceRule[] = BUILTIN_STATEFUL_RULES,
): Risk[] {
  const risks: Risk[] = [];
  for (const change of changes) {
    if (change.kind !== 'upgraded' && change.kind !== 'downgraded' && change.kind !== 'changed') continue;
    const rule = rules.find((r) => matches(r, change.name));
    if (!rule) continue;
    const before = newestMajor(change.before);
    const after = newestMajor(change.after);
    if (before === null || after === null || before === after) continue;
    const from = change.before[change.before.length - 1] ?? '';
    const to = change.after[change.after.length - 1] ?? '';
    if (after > before) {
      const skipped = rule.oneMajorAtATime && after - before > 1;
      risks.push({
        kind: 'service-major-upgrade',
        severity: skipped ? 'error' : 'warning',
        subject: change.name,
        before: from,
        after: to,
        message:
          `${rule.service}: major upgrade ${from} → ${to}` +
          (skipped ? ` skips ${after - before - 1} major version(s). ` : '. ') +
          rule.advice,
      });
    } else {
      risks.push({
        kind: 'service-major-downgrade',
        severity: 'error',
        subject: change.name,
        before: from,
        after: to,
        message: `${rule.service}: major downgrade ${from} → ${to}; data written by the newer version may not be readable.`,
      });
    }
  }
  return risks;
}

/** system.stateVersion as written in a copied configuration.nix (`system.copySystemConfiguration`), or null. */
export function stateVersionFromConfiguration(text: string | null): string | null {
  if (!text) return null;
  const m = /system\.stateVersion\s*=\s*"([^"\n]*)"\s*;/.exec(text);
  return m ? m[1]! : null;
}

export function stateVersionRisk(before: string | null, after: string | null): Risk | null {
  if (before === null || after === null || before === after) return null;
  return {
    kind: 'stateversion-changed',
    severity: 'error',
    subject: 'system.stateVersion',
    before,
    after,
    message:
      `system.stateVersion changes from ${before} to ${after}. It does not upgrade anything; it changes the ` +
      'defaults of stateful services (data directories, database versions) and can make existing data unreadable.',
  };
}

export function kernelRisk(before: string | null, after: string | null, otherBootFiles: boolean): Risk | null {
  if (before === after && !otherBootFiles) return null;
  const message =
    before !== after
      ? `Kernel ${before ?? 'unknown'} → ${after ?? 'unknown'}: a reboot is needed to run the new kernel.`
      : 'The initrd or kernel modules change: a reboot is needed to use them.';
  return { kind: 'kernel-changed', severity: 'information', subject: 'kernel', before, after, message };
}

const SEVERITY_ORDER = { error: 0, warning: 1, information: 2 } as const;

export function sortRisks(risks: Risk[]): Risk[] {
  return risks.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
}
