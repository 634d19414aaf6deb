/**
 * Stateful services whose major upgrades need manual steps, and how to read the major version out
 * of a pinned package attribute (`pkgs.postgresql_15`, `pkgs.nextcloud29`, `pkgs.mariadb_1011`).
 * Paraphrased from the project's knowledge base; entries it marks "general knowledge" are worded as advice.
 */
import type { Severity } from '../types';

export interface MajorUpgradeRule {
  service: string;
  /** The option holding the package. */
  option: string;
  /** Matches a package attribute name; group 1 (and 2) give the version digits. */
  attribute: RegExp;
  /** Turns the regex match into a comparable version ("15", "10.11", "9.6"). */
  version: (m: RegExpExecArray) => string;
  /** How many majors may be crossed in one step (Nextcloud: 1); undefined: any change needs steps. */
  maxStep?: number;
  /** Severity of an upgrade that needs manual steps; downgrades are always errors. */
  upgradeSeverity: Severity;
  /** Severity of an upgrade within `maxStep` (the supported path). */
  supportedSeverity?: Severity;
  steps: string;
  link?: string;
}

const pgVersion = (m: RegExpExecArray): string => (m[2] ? `${m[1]}.${m[2]}` : m[1]!);

export const MAJOR_UPGRADE_RULES: readonly MajorUpgradeRule[] = [
  {
    service: 'PostgreSQL',
    option: 'services.postgresql.package',
    attribute: /^postgresql_(\d+)(?:_(\d+))?(?:_jit)?$/,
    version: pgVersion,
    upgradeSeverity: 'warning',
    steps:
      'PostgreSQL never migrates by itself: with the default data directory (/var/lib/postgresql/<major>) the new major starts an empty cluster. Run pg_upgrade into the new data directory (or pg_dumpall and restore), then switch the package, then `vacuumdb --all --analyze-in-stages`.',
    link: 'https://nixos.org/manual/nixos/stable/#module-services-postgres-upgrading',
  },
  {
    service: 'Nextcloud',
    option: 'services.nextcloud.package',
    attribute: /^nextcloud(\d+)$/,
    version: (m) => m[1]!,
    maxStep: 1,
    upgradeSeverity: 'error',
    supportedSeverity: 'information',
    steps:
      'Nextcloud upgrades one major version at a time: switch to each intermediate major and let nextcloud-setup.service run the upgrade before going to the next.',
    link: 'https://nixos.org/manual/nixos/stable/#module-services-nextcloud',
  },
  {
    service: 'MariaDB',
    option: 'services.mysql.package',
    attribute: /^mariadb_(\d)(\d+)$/,
    version: (m) => `${m[1]}.${m[2]}`,
    upgradeSeverity: 'warning',
    steps:
      'MariaDB upgrades in place but needs `mariadb-upgrade` after a major change; downgrades are not supported. Back up the databases first.',
  },
  {
    service: 'MySQL',
    option: 'services.mysql.package',
    attribute: /^mysql(\d)(\d+)$/,
    version: (m) => `${m[1]}.${m[2]}`,
    upgradeSeverity: 'warning',
    steps: 'MySQL upgrades its data directory on start; downgrades are not supported. Back up the databases first.',
  },
  {
    service: 'MongoDB',
    option: 'services.mongodb.package',
    attribute: /^mongodb-(\d+)_(\d+)$/,
    version: (m) => `${m[1]}.${m[2]}`,
    maxStep: 1,
    upgradeSeverity: 'error',
    supportedSeverity: 'warning',
    steps: 'MongoDB upgrades one major release at a time, setting featureCompatibilityVersion between the steps.',
  },
  {
    service: 'NetBox',
    option: 'services.netbox.package',
    attribute: /^netbox_(\d+)_(\d+)$/,
    version: (m) => `${m[1]}.${m[2]}`,
    upgradeSeverity: 'warning',
    steps: 'NetBox migrates its database on start, one way: back up the database and read the release notes first.',
  },
  {
    service: 'Dovecot',
    option: 'services.dovecot2.package',
    attribute: /^dovecot_(\d+)_(\d+)$/,
    version: (m) => `${m[1]}.${m[2]}`,
    upgradeSeverity: 'warning',
    steps:
      'Dovecot 2.3 to 2.4 changes the configuration format and adds dovecot_storage_version: follow the upstream upgrade guide.',
  },
  {
    service: 'Graylog',
    option: 'services.graylog.package',
    attribute: /^graylog-(\d+)_(\d+)$/,
    version: (m) => `${m[1]}.${m[2]}`,
    upgradeSeverity: 'warning',
    steps: 'Graylog majors follow an upgrade path with index and MongoDB requirements: read the upgrade notes first.',
  },
];

/** The package attribute named by an expression text such as `pkgs.postgresql_15.withPackages (…)`. */
export function packageAttribute(expression: string): string | undefined {
  const m =
    /(?:^|[\s(])(?:pkgs|pkgs-[\w-]+|pkgs_[\w]+|unstable|stable|nixpkgs[\w-]*(?:\.legacyPackages\.[\w$.{}-]+)?)\.([A-Za-z_][\w-]*)/.exec(
      ` ${expression}`,
    );
  return m?.[1];
}

export interface PackageVersion {
  rule: MajorUpgradeRule;
  attribute: string;
  version: string;
}

export function packageVersion(option: string, attribute: string): PackageVersion | undefined {
  for (const rule of MAJOR_UPGRADE_RULES) {
    if (rule.option !== option) continue;
    const m = rule.attribute.exec(attribute);
    if (m) return { rule, attribute, version: rule.version(m) };
  }
  return undefined;
}

/** Number of majors between two versions of the same rule (negative for a downgrade). */
export function majorDistance(from: string, to: string): number {
  const a = from.split('.').map(Number);
  const b = to.split('.').map(Number);
  if (a[0] !== b[0]) return b[0]! - a[0]!;
  // Same leading number: MariaDB/MongoDB/NetBox-style majors are "x.y"; count a change as one step.
  return (b[1] ?? 0) === (a[1] ?? 0) ? 0 : (b[1] ?? 0) > (a[1] ?? 0) ? 1 : -1;
}
