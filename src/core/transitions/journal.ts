/**
 * The journal of a transition: one JSON file, rewritten atomically (temp file, fsync, rename, fsync of the
 * directory) after every change, so a lost connection, a closed editor, a killed process or a reboot leaves the last
 * recorded state and nothing half-written. The directory is created 0700 and the file 0600: on a target it lives
 * under /var/lib/nixos-generations/ and is root's.
 *
 * A lock file next to it (pid and boot id) keeps two runs apart; a lock left by a process that is gone, or by an
 * earlier boot, is taken over.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const DEFAULT_JOURNAL_DIR = '/var/lib/nixos-generations/transitions';
export const DEFAULT_BACKUP_DIR = '/var/lib/nixos-generations/backups';

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';
/**
 * running: steps are under way (or were, when the process died); failed: a step failed and its recovery did not
 * complete; recovered: a step failed and the recovery path put the old state back; done: migrated and verified,
 * old state kept until confirmed; restored: a backup was put back.
 */
export type TransitionState = 'running' | 'failed' | 'recovered' | 'done' | 'restored';

export interface JournalStep {
  id: string;
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  error?: string;
}

export interface JournalBackup {
  id: string;
  /** datadir: a copy of the data directory; dump: a directory of SQL dumps (roles, then one per database). */
  kind: 'datadir' | 'dump';
  path: string;
  /** What it restores: the service and its major ("postgresql 14"). */
  restores: string;
  /** Where it goes back to. */
  target: string;
  bytes: number;
  createdAt: string;
}

export interface JournalHookRun {
  phase: 'before' | 'after' | 'revert';
  argv: string[];
  exitCode: number | null;
  at: string;
  /** The last lines of its output. */
  output: string;
}

export interface JournalEvent {
  at: string;
  message: string;
}

export interface JournalData {
  version: 1;
  id: string;
  kind: string;
  createdAt: string;
  updatedAt: string;
  state: TransitionState;
  /** The parameters the transition was started with; a resume must match them. */
  params: Record<string, string | number | boolean | null>;
  steps: JournalStep[];
  backups: JournalBackup[];
  hooks: JournalHookRun[];
  events: JournalEvent[];
  /** Facts recorded by steps for later steps and for a resume (which directories this run created, counts). */
  facts: Record<string, unknown>;
}

const MAX_EVENTS = 500;

export class JournalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalError';
  }
}

export function readJournal(file: string): JournalData | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new JournalError(`cannot read the journal ${file}: ${(error as Error).message}`);
  }
  return parseJournal(text, file);
}

/** A journal's text (read here or on a target) as data; throws a JournalError saying what is wrong with it. */
export function parseJournal(text: string, file: string): JournalData {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new JournalError(`the journal ${file} is not valid JSON; it was left as it is`);
  }
  const d = data as Partial<JournalData>;
  if (!d || d.version !== 1 || typeof d.id !== 'string' || !Array.isArray(d.steps)) {
    throw new JournalError(`the journal ${file} is not a transition journal (version 1); it was left as it is`);
  }
  d.backups ??= [];
  d.hooks ??= [];
  d.events ??= [];
  d.facts ??= {};
  return d as JournalData;
}

function writeAtomically(file: string, text: string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  }
}

function now(): string {
  return new Date().toISOString();
}

/** A journal open for writing: every change is on disk before the method returns. */
export class Journal {
  private constructor(
    readonly file: string,
    public data: JournalData,
  ) {}

  static create(
    file: string,
    init: { id: string; kind: string; params: JournalData['params']; steps: readonly string[] },
  ): Journal {
    const at = now();
    const data: JournalData = {
      version: 1,
      id: init.id,
      kind: init.kind,
      createdAt: at,
      updatedAt: at,
      state: 'running',
      params: init.params,
      steps: init.steps.map((id) => ({ id, status: 'pending' as const })),
      backups: [],
      hooks: [],
      events: [],
      facts: {},
    };
    const journal = new Journal(file, data);
    journal.save();
    return journal;
  }

  static open(file: string): Journal | null {
    const data = readJournal(file);
    return data ? new Journal(file, data) : null;
  }

  save(): void {
    this.data.updatedAt = now();
    if (this.data.events.length > MAX_EVENTS) this.data.events.splice(0, this.data.events.length - MAX_EVENTS);
    writeAtomically(this.file, `${JSON.stringify(this.data, null, 2)}\n`);
  }

  step(id: string): JournalStep {
    let step = this.data.steps.find((s) => s.id === id);
    if (!step) {
      step = { id, status: 'pending' };
      this.data.steps.push(step);
    }
    return step;
  }

  setStep(id: string, status: StepStatus, error?: string): void {
    const step = this.step(id);
    step.status = status;
    if (status === 'running') {
      step.startedAt = now();
      delete step.endedAt;
      delete step.error;
    } else if (status !== 'pending') step.endedAt = now();
    if (error !== undefined) step.error = error;
    this.event(`${id}: ${status}${error ? ` (${error})` : ''}`);
  }

  setState(state: TransitionState, message?: string): void {
    this.data.state = state;
    this.event(`transition ${state}${message ? `: ${message}` : ''}`, false);
    this.save();
  }

  event(message: string, save = true): void {
    this.data.events.push({ at: now(), message });
    if (save) this.save();
  }

  fact<T>(name: string): T | undefined {
    return this.data.facts[name] as T | undefined;
  }

  setFact(name: string, value: unknown): void {
    this.data.facts[name] = value;
    this.save();
  }

  addBackup(backup: Omit<JournalBackup, 'createdAt'>): JournalBackup {
    const entry = { ...backup, createdAt: now() };
    this.data.backups = this.data.backups.filter((b) => b.id !== backup.id);
    this.data.backups.push(entry);
    this.event(`backup ${entry.id} (${entry.kind}) at ${entry.path}`);
    return entry;
  }

  addHookRun(run: Omit<JournalHookRun, 'at'>): void {
    this.data.hooks.push({ ...run, at: now() });
    this.event(`hook ${run.phase} ${JSON.stringify(run.argv)} exited ${run.exitCode}`);
  }

  /** The step to continue with: the first that is not done or skipped. */
  nextStep(): string | null {
    return this.data.steps.find((s) => s.status !== 'done' && s.status !== 'skipped')?.id ?? null;
  }

  lastBackup(): JournalBackup | null {
    return this.data.backups[this.data.backups.length - 1] ?? null;
  }
}

function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the journal's lock or throws a JournalError naming the holder. Returns the release function. */
export function lockJournal(file: string): () => void {
  const lock = `${file}.lock`;
  fs.mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 });
  const mine = `${process.pid} ${bootId()}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, mine, { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if (fs.readFileSync(lock, 'utf8') === mine) fs.unlinkSync(lock);
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new JournalError(`cannot lock the journal ${file}: ${(error as Error).message}`);
      }
      let holder = '';
      try {
        holder = fs.readFileSync(lock, 'utf8');
      } catch {
        continue;
      }
      const [pidText, boot] = holder.trim().split(' ');
      const pid = Number(pidText);
      if (Number.isInteger(pid) && pid > 0 && boot === bootId() && alive(pid)) {
        throw new JournalError(`another run (pid ${pid}) holds the journal ${file}; wait for it to finish`);
      }
      // Left by a process that died or by an earlier boot: take it over.
      fs.rmSync(lock, { force: true });
    }
  }
  throw new JournalError(`cannot lock the journal ${file}`);
}
