/**
 * Which generations were activated, in order: Nix only remembers the boot default, so "roll back to what ran
 * before" needs our own record. A JSON-lines file in the XDG state directory
 * (`~/.local/state/nixos-generations/activations.jsonl`; `$NIXOS_GENERATIONS_STATE_DIR` overrides the directory)
 * gets one line per activation this tool performs, and one per activation it observes (`current-system` changed
 * behind its back, e.g. a plain `nixos-rebuild switch` in a terminal).
 */
import { formatAge, formatLocalDateTime } from '../format';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Generation } from '../generations/types';

export interface ActivationRecord {
  /** ISO 8601. */
  time: string;
  /** The profile link the generation belongs to, when known. */
  profile: string | null;
  /** Generation number, when known. */
  generation: number | null;
  /** The activated system's store path (what `current-system` pointed to). */
  storePath: string;
  /** What did it: `switch`, `test`, `rollback`, `rebuild switch`, ..., or `observed`. */
  action: string;
  /** This tool ran it, or saw it had happened. */
  source: 'performed' | 'observed';
  /** The specialisation that was activated (`storePath` is the generation's, `activatedPath` the child's). */
  specialisation?: string;
  /** What `current-system` points to after this activation, when it is not `storePath` (a specialisation). */
  activatedPath?: string;
}

const FILE_NAME = 'activations.jsonl';
/** Lines kept when the file is compacted. */
const MAX_RECORDS = 2000;

/** The state directory: $NIXOS_GENERATIONS_STATE_DIR, else $XDG_STATE_HOME/nixos-generations, else ~/.local/state/... */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NIXOS_GENERATIONS_STATE_DIR) return env.NIXOS_GENERATIONS_STATE_DIR;
  const xdg = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : undefined;
  return path.join(xdg ?? path.join(env.HOME || os.homedir(), '.local', 'state'), 'nixos-generations');
}

/** Parses the file's lines; broken or foreign lines are skipped, never fatal. */
export function parseHistory(text: string): ActivationRecord[] {
  const records: ActivationRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const v = value as Record<string, unknown>;
    if (typeof v.storePath !== 'string' || v.storePath === '' || typeof v.time !== 'string') continue;
    records.push({
      time: v.time,
      profile: typeof v.profile === 'string' ? v.profile : null,
      generation: typeof v.generation === 'number' && Number.isSafeInteger(v.generation) ? v.generation : null,
      storePath: v.storePath,
      action: typeof v.action === 'string' ? v.action : 'unknown',
      source: v.source === 'observed' ? 'observed' : 'performed',
      ...(typeof v.specialisation === 'string' && v.specialisation !== '' ? { specialisation: v.specialisation } : {}),
      ...(typeof v.activatedPath === 'string' && v.activatedPath !== '' ? { activatedPath: v.activatedPath } : {}),
    });
  }
  return records;
}

export class ActivationHistory {
  readonly file: string;

  constructor(dir: string = stateDir()) {
    this.file = path.join(dir, FILE_NAME);
  }

  async read(): Promise<ActivationRecord[]> {
    try {
      return parseHistory(await fsp.readFile(this.file, 'utf8'));
    } catch {
      return [];
    }
  }

  async append(record: Omit<ActivationRecord, 'time'> & { time?: string }): Promise<ActivationRecord> {
    const full: ActivationRecord = {
      time: record.time ?? new Date().toISOString(),
      profile: record.profile,
      generation: record.generation,
      storePath: record.storePath,
      action: record.action,
      source: record.source,
      ...(record.specialisation ? { specialisation: record.specialisation } : {}),
      ...(record.activatedPath ? { activatedPath: record.activatedPath } : {}),
    };
    await fsp.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    await fsp.appendFile(this.file, JSON.stringify(full) + '\n', { mode: 0o600 });
    await this.compact();
    return full;
  }

  /**
   * Notes the activated system when it differs from the last record (an activation this tool did not perform).
   * Returns the new record, or null when nothing changed or nothing is activated.
   */
  async observe(
    activatedStorePath: string | null,
    locate?: (storePath: string) => { profile: string; generation: number } | null,
    options: { onlyIfExists?: boolean } = {},
  ): Promise<ActivationRecord | null> {
    if (!activatedStorePath) return null;
    if (options.onlyIfExists && !(await fsp.stat(this.file).catch(() => null))) return null;
    const records = await this.read();
    const last = records[records.length - 1];
    if (last && (last.storePath === activatedStorePath || last.activatedPath === activatedStorePath)) return null;
    const where = locate?.(activatedStorePath) ?? null;
    return this.append({
      profile: where?.profile ?? null,
      generation: where?.generation ?? null,
      storePath: activatedStorePath,
      action: 'observed',
      source: 'observed',
    });
  }

  private async compact(): Promise<void> {
    const records = await this.read();
    if (records.length <= MAX_RECORDS * 1.5) return;
    const kept = records.slice(-MAX_RECORDS);
    const tmp = `${this.file}.${process.pid}.tmp`;
    await fsp.writeFile(tmp, kept.map((r) => JSON.stringify(r)).join('\n') + '\n', { mode: 0o600 });
    await fsp.rename(tmp, this.file);
  }
}

export interface RollbackTarget {
  generation: Generation;
  /** The specialisation that was active then, if any. */
  specialisation?: string;
  /** Found in the activation history (false: fell back to the generation numbered below the activated one). */
  fromHistory: boolean;
  /** Why this one (shown to the user). */
  reason: string;
}

/**
 * The generation to roll back to: the newest record whose store path differs from what is activated now and
 * still exists in this profile (the newest non-garbage-collected generation with that store path). Without such
 * a record: the nearest existing generation numbered below the activated one (below the newest when nothing
 * is activated), said so in `reason`. Null when there is none.
 */
export function rollbackTarget(
  records: readonly ActivationRecord[],
  generations: readonly Generation[],
  activatedStorePath: string | null,
): RollbackTarget | null {
  const present = generations.filter((g) => !g.missing);
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i]!;
    if (record.storePath === activatedStorePath || record.activatedPath === activatedStorePath) continue;
    const matches = present.filter((g) => g.storePath === record.storePath).sort((a, b) => b.generation - a.generation);
    const match = matches.find((g) => record.generation !== null && g.generation === record.generation) ?? matches[0];
    if (!match) continue;
    return {
      generation: match,
      ...(record.specialisation ? { specialisation: record.specialisation } : {}),
      fromHistory: true,
      reason: `generation ${match.generation} was activated before the current one (${record.source === 'performed' ? `by ${record.action}` : 'seen running'} ${formatAge(record.time)}, ${formatLocalDateTime(record.time)})`,
    };
  }
  const activated = activatedStorePath
    ? [...generations].filter((g) => g.storePath === activatedStorePath).sort((a, b) => b.generation - a.generation)[0]
    : undefined;
  const below = activated?.generation ?? Math.max(0, ...generations.map((g) => g.generation));
  const candidates = present
    .filter((g) => g.generation < below && g.storePath !== activatedStorePath)
    .sort((a, b) => b.generation - a.generation);
  const fallback = candidates[0];
  if (!fallback) return null;
  return {
    generation: fallback,
    fromHistory: false,
    reason: `no earlier activation is recorded, so this is the generation numbered below ${activated ? `the activated one (${activated.generation})` : `the newest (${below})`}, which may not be the one that ran before`,
  };
}
