/**
 * Which transitions a switch needs, from the risks the diff already finds (serviceRisks: a stateful service whose
 * major changes between the running and the new system). One place decides; the preview and the CLI show it.
 */
import type { Risk } from '../diff/risk';
import { runOnTarget, type Target, type TargetRunOptions } from '../target';

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

/** What the units of the running and the new system say about PostgreSQL (NixOS' postgresql.service). */
export interface PostgresUnitFacts {
  /** The package's bin directory (from ExecStart=…/bin/postgres). */
  bin: string | null;
  /** PGDATA from the unit's environment (/var/lib/postgresql/<major> by default). */
  data: string | null;
}

/**
 * Reads NixOS' postgresql.service: `ExecStart=/nix/store/…-postgresql-and-plugins-15.7/bin/postgres` and
 * `Environment="PGDATA=/var/lib/postgresql/15"` (the module's shapes; nixpkgs is not reachable here, the fixture
 * units follow them).
 */
export function parsePostgresUnit(text: string): PostgresUnitFacts {
  let bin: string | null = null;
  let data: string | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const exec = /^ExecStart=[@+!-]*(\/[^\s"']+)\/postgres(?:\s|$)/.exec(line);
    if (exec) bin = exec[1]!;
    const env = /^Environment=(.*)$/.exec(line);
    if (env) {
      for (const m of env[1]!.matchAll(/"([^"]*)"|(\S+)/g)) {
        const word = m[1] ?? m[2] ?? '';
        if (word.startsWith('PGDATA=')) data = word.slice('PGDATA='.length);
      }
    }
  }
  return { bin, data };
}

/** The unit file of NixOS' PostgreSQL service inside a system. */
const POSTGRES_UNIT = 'etc/systemd/system/postgresql.service';
const SEPARATOR = '@@nixgen-unit-separator@@';

/**
 * Reads postgresql.service of the running and the new system on the target (one call; a system without the
 * service gives nulls). The paths travel as arguments of a fixed script.
 */
export async function readPostgresUnits(
  target: Target,
  oldSystem: string,
  newSystem: string,
  options: TargetRunOptions = {},
): Promise<{ old: PostgresUnitFacts; new: PostgresUnitFacts }> {
  const r = await runOnTarget(
    target,
    [
      'sh',
      '-c',
      'cat "$1/$3" 2>/dev/null; echo; echo "$4"; cat "$2/$3" 2>/dev/null; exit 0',
      'nixgen-read-units',
      oldSystem,
      newSystem,
      POSTGRES_UNIT,
      SEPARATOR,
    ],
    { ...options, timeoutMs: options.timeoutMs ?? 30_000, maxOutputBytes: 256 * 1024 },
  );
  if (r.exitCode !== 0)
    throw new Error(`cannot read postgresql.service on the target: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  const [oldText = '', newText = ''] = r.stdout.split(`\n${SEPARATOR}\n`);
  return { old: parsePostgresUnit(oldText), new: parsePostgresUnit(newText) };
}

function majorOfPackageBin(bin: string | null): number | null {
  if (!bin) return null;
  const name =
    bin
      .replace(/\/bin\/?$/, '')
      .split('/')
      .pop() ?? '';
  const m = /-(\d+)(?:\.\d+)*(?:-[a-z]+)?$/.exec(name.replace(/^[0-9a-z]{32}-/, ''));
  return m ? Number(m[1]) : null;
}

function majorOfDataDir(data: string | null): number | null {
  const m = data ? /\/(\d+)\/?$/.exec(data) : null;
  return m ? Number(m[1]) : null;
}

/**
 * A PostgreSQL transition read from the two systems' units alone (the CLI's safe switch has no closure diff): the
 * majors from the packages' store names (`…-postgresql-and-plugins-15.7`), else from the data directories
 * (`/var/lib/postgresql/15`). Null when either side has no PostgreSQL or both run the same major.
 */
export function proposeFromUnits(old: PostgresUnitFacts, fresh: PostgresUnitFacts): TransitionProposal | null {
  if (!old.bin || !fresh.bin) return null;
  const a = majorOfPackageBin(old.bin) ?? majorOfDataDir(old.data);
  const b = majorOfPackageBin(fresh.bin) ?? majorOfDataDir(fresh.data);
  if (a === null || b === null || a === b) return null;
  const direction = b > a ? 'upgrade' : 'downgrade';
  return {
    kind: 'postgresql',
    from: String(a),
    to: String(b),
    fromMajor: a,
    toMajor: b,
    direction,
    method: direction === 'upgrade' ? 'pg_upgrade (copy mode)' : 'dump and restore',
    oldData: old.data ?? `/var/lib/postgresql/${a}`,
    newData: fresh.data ?? `/var/lib/postgresql/${b}`,
  };
}

/**
 * The transitions of a switch: Nextcloud from the closure's risks; PostgreSQL from the two systems' units when they
 * could be read (a PostgreSQL package in the closure without the service, e.g. client tools, holds no data to
 * migrate), else from the risks (the conservative side: the planner then refuses what it cannot find).
 */
export function proposeSwitchTransitions(
  risks: readonly Risk[],
  units: { old: PostgresUnitFacts; new: PostgresUnitFacts } | null,
): TransitionProposal[] {
  const fromRisks = proposeTransitions(risks);
  if (!units) return fromRisks;
  const postgres = proposeFromUnits(units.old, units.new);
  return [...fromRisks.filter((p) => p.kind !== 'postgresql'), ...(postgres ? [postgres] : [])];
}
