/**
 * The lint engine: finds the projects (flakes or classic configuration directories) behind the
 * paths given, reads their files, the flake inputs' releases and the git base, and runs the rules.
 * Used as it is by the CLI; the language server keeps a {@link LintService} with caches across edits.
 */
import { budgetReader, ReadBudget } from './budget';
import { promises as fs } from 'node:fs';
import type { Dirent, Stats } from 'node:fs';
import * as path from 'node:path';
import { flakeInfo } from './flakeInfo';
import type { FlakeInfo } from './flakeInfo';
import type { GitSnapshot } from './git';
import {
  activatedRevision,
  gitResolve,
  gitTopLevel,
  GitSnapshot as Snapshot,
  openSnapshot,
  prefetchSnapshot,
} from './git';
import type { MachineFacts } from './machine';
import type { Project, SourceReader } from './project';
import { buildProject, ParseCache } from './project';
import type { Comparison } from './rules';
import { runRules } from './rules';
import type { LintDiagnostic } from './types';
import { compareDiagnostics } from './types';

export interface LintOptions {
  /** Git revision to compare with; default HEAD; empty string: no comparison. */
  base?: string;
  /** Where `current-system` lives (default none: the activated generation is not consulted). */
  runDir?: string;
  /** What is known about the machine the lint runs for (its oldest and activated generations). */
  machine?: MachineFacts;
  /** Called with each project's model and diagnostics; what it returns replaces them (the evaluation layer). */
  amend?: (project: Project, diagnostics: LintDiagnostic[]) => Promise<LintDiagnostic[]>;
}

export interface LintRun {
  diagnostics: LintDiagnostic[];
  projects: string[];
  files: number;
  /** Problems that did not stop the run (an unknown base revision, an unreadable directory). */
  notes: string[];
}

const SKIP_DIRS = new Set(['.git', 'node_modules', '.direnv', '.jj', '.hg', 'result', '.vscode-test']);
const MAX_FILES = 50_000;

/** Every .nix file under `dir` (symlinks not followed, VCS and build output skipped). */
export async function listNixFiles(dir: string, limit = MAX_FILES, maxDepth = 40): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    if (depth > maxDepth || out.length >= limit) return;
    let entries: Dirent[];
    try {
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (out.length >= limit) return;
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('result-')) await walk(p, depth + 1);
      } else if (e.isFile() && e.name.endsWith('.nix')) out.push(p);
    }
  };
  await walk(dir, 0);
  return out;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** The directory of the nearest flake.nix at or above `start` (a directory), stopping at `stop` or the git top. */
export async function findFlakeDir(start: string, stop?: string): Promise<string | undefined> {
  let dir = path.resolve(start);
  for (let i = 0; i < 64; i++) {
    if (await isFile(path.join(dir, 'flake.nix'))) return dir;
    if (stop !== undefined && dir === stop) return undefined;
    if (
      await fs.stat(path.join(dir, '.git')).then(
        () => true,
        () => false,
      )
    )
      return undefined;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
  return undefined;
}

/** Snapshot reader, prefetched in one process. */
function snapshotReader(snapshot: GitSnapshot, prefetched: Map<string, string | undefined>): SourceReader {
  return {
    read: (p) => (prefetched.has(p) ? Promise.resolve(prefetched.get(p)) : snapshot.read(p)),
  };
}

interface ProjectPlan {
  dir: string;
  /** The .nix files under the project, by name (listed, not read: see BuildOptions.files). */
  files: string[];
  /** Files named on the command line: linted even when no configuration reaches them. */
  named: string[];
  /** Report only diagnostics in these files (or under these directories). */
  scope: string[];
}

/** How far a folder without a flake is listed: /etc/nixos is shallow, and a file in $HOME must not walk the disk. */
const PLAIN_DIR_LIMIT = 2_000;
const PLAIN_DIR_DEPTH = 3;

/** The .nix files of the project at `dir` by name: a flake whole, a plain folder a few levels deep. */
export async function listProjectFiles(dir: string): Promise<string[]> {
  return (await isFile(path.join(dir, 'flake.nix')))
    ? listNixFiles(dir, 20_000)
    : listNixFiles(dir, PLAIN_DIR_LIMIT, PLAIN_DIR_DEPTH);
}

/** Groups the paths given on the command line into projects. */
async function planProjects(paths: readonly string[]): Promise<{ plans: ProjectPlan[]; notes: string[] }> {
  const notes: string[] = [];
  const plans = new Map<string, ProjectPlan>();
  const listed = new Set<string>();
  const plan = (dir: string): ProjectPlan => {
    let p = plans.get(dir);
    if (!p) {
      p = { dir, files: [], named: [], scope: [] };
      plans.set(dir, p);
    }
    return p;
  };
  const addFiles = (p: ProjectPlan, files: readonly string[]): void => {
    const have = new Set(p.files);
    for (const f of files) if (!have.has(f)) p.files.push(f);
  };
  for (const given of paths) {
    const abs = path.resolve(given);
    let st: Stats;
    try {
      st = await fs.stat(abs);
    } catch {
      notes.push(`${given}: no such file or directory`);
      continue;
    }
    if (st.isFile()) {
      const dir = (await findFlakeDir(path.dirname(abs))) ?? path.dirname(abs);
      const p = plan(dir);
      if (!listed.has(dir)) {
        listed.add(dir);
        addFiles(p, await listProjectFiles(dir));
      }
      if (!p.named.includes(abs)) p.named.push(abs);
      p.scope.push(abs);
      continue;
    }
    const above = await findFlakeDir(abs);
    // The whole flake is listed (its hosts may live anywhere in it); the report stays within the folder given.
    const top = above ?? abs;
    const files = await listNixFiles(top);
    // Nested flakes under the directory are projects of their own.
    const flakeDirs = new Set(files.filter((f) => path.basename(f) === 'flake.nix').map((f) => path.dirname(f)));
    if (above) flakeDirs.add(above);
    const owner = (f: string): string => {
      let best: string | undefined;
      for (const d of flakeDirs) {
        if ((f === d || f.startsWith(d + path.sep)) && (!best || d.length > best.length)) best = d;
      }
      return best ?? top;
    };
    const byOwner = new Map<string, string[]>();
    for (const f of files) {
      const o = owner(f);
      const list = byOwner.get(o);
      if (list) list.push(f);
      else byOwner.set(o, [f]);
    }
    // A project is linted when it is the folder given, inside it, or holds it (not a sibling flake of the folder).
    const inGiven = (d: string): boolean => d === abs || d.startsWith(abs + path.sep) || abs.startsWith(d + path.sep);
    for (const d of new Set([...byOwner.keys(), top])) {
      if (!inGiven(d)) continue;
      const p = plan(d);
      if (!listed.has(d)) addFiles(p, byOwner.get(d) ?? []);
      listed.add(d);
      p.scope.push(abs);
    }
  }
  return { plans: [...plans.values()], notes };
}

function inScope(file: string, scope: readonly string[]): boolean {
  return scope.some((s) => file === s || file.startsWith(s.endsWith(path.sep) ? s : s + path.sep));
}

/** Reads the flake's lock and flake.nix and works out the input releases. */
export async function readFlakeInfo(dir: string, reader: SourceReader): Promise<FlakeInfo | undefined> {
  const flakeText = await reader.read(path.join(dir, 'flake.nix'));
  if (flakeText === undefined) return undefined;
  const lockText = await reader.read(path.join(dir, 'flake.lock'));
  return flakeInfo(lockText, flakeText);
}

/**
 * Builds the model of the project as it is at a git snapshot (same layout). `read` are the files the working tree's
 * model read: fetched in one process; anything else the snapshot's configurations reach is read when asked for.
 */
export async function projectAtSnapshot(
  snapshot: GitSnapshot,
  dir: string,
  files: readonly string[],
  cache: ParseCache,
  read: readonly string[] = [],
  named: readonly string[] = [],
): Promise<Project> {
  const prefetched = await prefetchSnapshot(snapshot, [
    ...read,
    path.join(dir, 'flake.nix'),
    path.join(dir, 'flake.lock'),
  ]);
  // the same bounds as the working tree: a huge file at the base revision is not parsed either
  const budget = new ReadBudget();
  const unbounded = snapshotReader(snapshot, prefetched);
  const reader: SourceReader = {
    read: async (p) => {
      const text = await unbounded.read(p);
      return text !== undefined && budget.admit(p, text.length) ? text : undefined;
    },
  };
  const flake = await readFlakeInfo(dir, reader);
  return buildProject(dir, reader, cache, { files: [...files], named, ...(flake ? { flake } : {}) });
}

/** Lints the given paths (files or directories) as the CLI does. */
export async function lintPaths(paths: readonly string[], options: LintOptions = {}): Promise<LintRun> {
  const { plans, notes } = await planProjects(paths.length ? paths : ['.']);
  const run: LintRun = { diagnostics: [], projects: [], files: 0, notes };
  const baseRev = options.base ?? 'HEAD';
  // the explorer's answer when it has one (no process); else the activated system's nixos-version
  const deployedRev = options.runDir
    ? (options.machine?.activated?.revision ?? (await activatedRevision(options.runDir)))
    : undefined;
  for (const plan of plans) {
    const cache = new ParseCache();
    const budget = new ReadBudget();
    const reader = budgetReader(budget);
    const flake = await readFlakeInfo(plan.dir, reader);
    const project = await buildProject(plan.dir, reader, cache, {
      files: plan.files,
      named: plan.named,
      ...(flake ? { flake } : {}),
    });
    const read = [...project.files.keys()];
    for (const [file, why] of budget.skipped) notes.push(`${file}: ${why}`);
    // Said once, so that a module missing from the report is not taken for a clean one.
    const flakePath = path.join(plan.dir, 'flake.nix');
    const unread = plan.files.filter(
      (f) => f !== flakePath && inScope(f, plan.scope) && !project.files.has(f) && !budget.skipped.has(f),
    ).length;
    if (unread > 0)
      notes.push(
        `${plan.dir}: ${unread} .nix file${unread === 1 ? '' : 's'} no configuration reaches ${unread === 1 ? 'was' : 'were'} not read (name a file to lint it)`,
      );
    run.projects.push(plan.dir);
    run.files += project.files.size;
    let base: Comparison | undefined;
    if (baseRev !== '') {
      const snap = await openSnapshot(plan.dir, baseRev, baseRev, (why) => notes.push(`${plan.dir}: ${why}`));
      if (snap)
        base = {
          project: await projectAtSnapshot(snap, plan.dir, plan.files, cache, read, plan.named),
          label: baseRev,
        };
      else if (options.base !== undefined)
        notes.push(`${plan.dir}: cannot read git revision ${baseRev}; nothing to compare with`);
    }
    let deployed: Comparison | undefined;
    if (deployedRev) {
      const snap = await openSnapshot(plan.dir, deployedRev, `the activated generation (${deployedRev.slice(0, 7)})`);
      if (snap && snap.commit !== (base ? await gitResolve(snap.top, baseRev) : undefined)) {
        deployed = {
          project: await projectAtSnapshot(snap, plan.dir, plan.files, cache, read, plan.named),
          label: snap.label,
        };
      }
    }
    let diagnostics = runRules({
      project,
      ...(base ? { base } : {}),
      ...(deployed ? { deployed } : {}),
      ...(options.machine ? { machine: options.machine } : {}),
    });
    if (options.amend) diagnostics = await options.amend(project, diagnostics);
    run.diagnostics.push(...diagnostics.filter((d) => inScope(d.file, plan.scope)));
  }
  run.diagnostics.sort(compareDiagnostics);
  return run;
}

export { gitTopLevel, Snapshot };
