/**
 * Which changes of a diff deserve to be shown first: a new major version of a service that keeps state (its data
 * may need a manual migration), a different system.stateVersion, a different kernel (a reboot is needed to run it).
 */
import { MAJOR_UPGRADE_RULES, type MajorUpgradeRule } from '../lint/data/majorUpgrades';
import type { PackageChange } from './closure';
import { versionComponents } from './names';

/** A service whose major upgrades need care, by the package names that carry it. */
export interface StatefulServiceRule {
  /** The service ("postgresql"). */
  service: string;
  /** Package names (as split from store names) that belong to it; a trailing `*` matches a prefix. */
  packages: string[];
  /** What to do about a major upgrade. */
  advice: string;
  /** How many majors one switch may cross (Nextcloud: 1); undefined: any major change needs care. */
  maxStep?: number;
  /** Version components that make the major: 1 for "15.7" (PostgreSQL), 2 for "10.11.6" (MariaDB). Default 1. */
  majorDepth?: number;
  /** Severity of a major upgrade that needs manual steps (default warning; error when it skips past maxStep). */
  upgradeSeverity?: 'error' | 'warning' | 'information';
  /** Severity of an upgrade within maxStep (default information). */
  supportedSeverity?: 'error' | 'warning' | 'information';
}

/**
 * A small built-in table for the services the lint rule database does not cover (see defaultStatefulRules): the
 * services known to need manual steps on a major upgrade. Advice is our own wording.
 */
const BUILTIN_STATEFUL_RULES: readonly StatefulServiceRule[] = [
  {
    service: 'postgresql',
    packages: ['postgresql', 'postgresql-and-plugins'],
    advice: 'A new PostgreSQL major cannot read the old data directory: run pg_upgrade or dump and restore.',
  },
  {
    service: 'nextcloud',
    packages: ['nextcloud'],
    advice: 'Nextcloud upgrades one major at a time; skipping a major breaks the instance.',
    maxStep: 1,
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
    maxStep: 1,
  },
  {
    service: 'gitlab',
    packages: ['gitlab', 'gitlab-ee'],
    advice: 'GitLab must follow its upgrade path; background migrations must finish before the next step.',
    maxStep: 1,
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

/** The major part of a version: its first `depth` numeric components ("10.11.6", 2 -> [10, 11]). */
function majorOf(version: string, depth: number): number[] | null {
  const numbers = versionComponents(version)
    .filter((c) => /^[0-9]+$/.test(c))
    .slice(0, depth)
    .map(Number);
  return numbers.length === 0 ? null : numbers;
}

/** Majors crossed from a to b (negative: a downgrade); for two-part majors a change of the second counts one. */
function majorSteps(a: number[], b: number[]): number {
  if (a[0] !== b[0]) return b[0]! - a[0]!;
  const x = a[1] ?? 0;
  const y = b[1] ?? 0;
  return x === y ? 0 : y > x ? 1 : -1;
}

/** Package name a lint rule's attribute pattern starts with (`^postgresql_(\d+)...` -> postgresql). */
function packagePrefix(rule: MajorUpgradeRule): string | null {
  const m = /^\^([a-z][a-z0-9]*?)[_-]?\(/.exec(rule.attribute.source);
  return m ? m[1]! : null;
}

/** How many version parts the rule's own version function yields for a plausible attribute. */
function depthOf(rule: MajorUpgradeRule, prefix: string): number {
  for (const sep of ['_', '', '-']) {
    for (const digits of ['15', '1011', '4_1']) {
      const m = rule.attribute.exec(`${prefix}${sep}${digits}`);
      if (m) return rule.version(m).split('.').length;
    }
  }
  return 1;
}

/**
 * The stateful-service rules: the lint rule database (src/core/lint, keyed by package attributes such as
 * `postgresql_15`) turned into package-name rules, plus the built-in entries for services it does not cover.
 */
export function defaultStatefulRules(): StatefulServiceRule[] {
  const fromLint: StatefulServiceRule[] = [];
  for (const rule of MAJOR_UPGRADE_RULES) {
    const prefix = packagePrefix(rule);
    if (!prefix) continue;
    fromLint.push({
      service: rule.service,
      packages: prefix === 'postgresql' ? ['postgresql', 'postgresql-and-plugins'] : [prefix],
      advice: rule.steps,
      majorDepth: depthOf(rule, prefix),
      ...(rule.maxStep !== undefined ? { maxStep: rule.maxStep } : {}),
      upgradeSeverity: rule.upgradeSeverity === 'hint' ? 'information' : rule.upgradeSeverity,
      ...(rule.supportedSeverity && rule.supportedSeverity !== 'hint'
        ? { supportedSeverity: rule.supportedSeverity }
        : {}),
    });
  }
  const covered = new Set(fromLint.flatMap((r) => r.packages));
  return [...fromLint, ...BUILTIN_STATEFUL_RULES.filter((r) => !r.packages.some((p) => covered.has(p)))];
}

/** Major-version changes of stateful services among the package changes. */
export function serviceRisks(
  changes: readonly PackageChange[],
  rules: readonly StatefulServiceRule[] = defaultStatefulRules(),
): Risk[] {
  const risks: Risk[] = [];
  for (const change of changes) {
    if (change.kind !== 'upgraded' && change.kind !== 'downgraded' && change.kind !== 'changed') continue;
    const rule = rules.find((r) => matches(r, change.name));
    if (!rule) continue;
    const from = change.before[change.before.length - 1] ?? '';
    const to = change.after[change.after.length - 1] ?? '';
    const depth = rule.majorDepth ?? 1;
    const a = majorOf(from, depth);
    const b = majorOf(to, depth);
    if (a === null || b === null) continue;
    const steps = majorSteps(a, b);
    if (steps === 0) continue;
    if (steps > 0) {
      const skips = rule.maxStep !== undefined && steps > rule.maxStep;
      const severity = skips
        ? 'error'
        : rule.maxStep !== undefined
          ? (rule.supportedSeverity ?? 'information')
          : (rule.upgradeSeverity ?? 'warning');
      risks.push({
        kind: 'service-major-upgrade',
        severity,
        subject: change.name,
        before: from,
        after: to,
        message:
          `${rule.service}: major upgrade ${from} → ${to}` +
          (skips ? ` skips ${steps - rule.maxStep!} major version(s). ` : '. ') +
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
