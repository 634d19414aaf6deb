/**
 * Linting as the language server needs it: projects kept in memory across edits. Parsed files,
 * file lists, flake.lock answers and the git base are cached per project and dropped when the
 * files they came from change, so a re-lint after a keystroke re-parses one file and re-runs the rules.
 */
import * as path from 'node:path';
import { budgetReader, ReadBudget, skippedDiagnostic } from './budget';
import { findFlakeDir, listProjectFiles, projectAtSnapshot, readFlakeInfo } from './engine';
import { activatedRevision, gitResolve, gitTopLevel, GitSnapshot } from './git';
import type { MachineFacts } from './machine';
import type { Project, SourceReader } from './project';
import { buildProject, definesOption, defsOf, firstDefUnder, isTrue, ParseCache } from './project';
import type { Comparison } from './rules';
import { runRules } from './rules';
import type { LintDiagnostic } from './types';
import { compareDiagnostics } from './types';
import { NIXOS_GATES, HOME_MANAGER_GATES, defaultFor } from './gates';
import { nixpkgsReleaseFor } from './flakeInfo';
import { resolveValue } from './project';
import { LATEST_STABLE, releaseInfo } from './releases';

export interface ServiceSettings {
  /** Git revision for the comparisons ('' disables). */
  base: string;
  /** Where `current-system` lives; '' to skip the activated generation. */
  runDir: string;
}

interface ProjectState {
  dir: string;
  files?: string[];
  texts: Map<string, string | undefined>;
  cache: ParseCache;
  /** Parses of base and activated revisions (kept apart, so an edit never evicts them). */
  baseCache: ParseCache;
  top?: string | null;
  baseKey?: string;
  base?: Comparison;
  baseCheckedAt?: number;
  deployedKey?: string;
  deployed?: Comparison;
  deployedCheckedAt?: number;
  last?: Project;
}

const BASE_TTL_MS = 3000;
const DEPLOYED_TTL_MS = 60_000;

export class LintService {
  private readonly projects = new Map<string, ProjectState>();
  private readonly overlays = new Map<string, string>();
  private readonly projectOfDir = new Map<string, string>();
  private machine: MachineFacts = {};

  /** Called after the rules with the project model; what it returns replaces the diagnostics (the evaluation layer). */
  amend?: (project: Project, diagnostics: LintDiagnostic[]) => LintDiagnostic[];

  constructor(private settings: ServiceSettings = { base: 'HEAD', runDir: '' }) {}

  /** The model of the project at `dir` from its last lint. */
  lastProject(dir: string): Project | undefined {
    return this.projects.get(dir)?.last;
  }

  configure(settings: ServiceSettings): void {
    const changed = settings.base !== this.settings.base || settings.runDir !== this.settings.runDir;
    this.settings = settings;
    if (changed) for (const p of this.projects.values()) this.dropComparisons(p);
  }

  /**
   * What the explorer knows about this machine (core/lint/machine). A new activated commit is compared with at the
   * next lint; returns whether anything changed (then the open files deserve a re-lint).
   */
  setMachine(facts: MachineFacts): boolean {
    const changed = JSON.stringify(facts) !== JSON.stringify(this.machine);
    if (!changed) return false;
    const moved = facts.activated?.revision !== this.machine.activated?.revision;
    this.machine = facts;
    if (moved) for (const p of this.projects.values()) delete p.deployedCheckedAt;
    return true;
  }

  /** An open editor's text replaces the file on disk. */
  setOverlay(file: string, text: string): void {
    this.overlays.set(file, text);
  }

  removeOverlay(file: string): void {
    this.overlays.delete(file);
  }

  /** A file changed, appeared or disappeared on disk (from a file watcher). */
  fileChanged(file: string, kind: 'changed' | 'created' | 'deleted'): void {
    if (isGitHeadFile(file)) {
      // A commit, checkout or reset moved HEAD: resolve the base again at the next lint.
      for (const p of this.projects.values()) delete p.baseCheckedAt;
      return;
    }
    for (const p of this.projects.values()) {
      if (!isUnder(file, p.dir)) continue;
      p.texts.delete(file);
      if (kind !== 'changed') p.files = undefined;
      if (kind === 'deleted') p.cache.forget(file);
      const base = path.basename(file);
      if (base === 'flake.nix' && kind !== 'changed') this.projectOfDir.clear();
    }
    if (path.basename(file) === 'flake.nix' && kind !== 'changed') this.projectOfDir.clear();
    // A commit or checkout moves HEAD: the base is re-resolved at the next lint anyway (short TTL).
  }

  /** The project directory a file belongs to (its flake, or its own directory). */
  async projectDir(file: string): Promise<string> {
    const dir = path.dirname(file);
    const known = this.projectOfDir.get(dir);
    if (known) return known;
    const found = (await findFlakeDir(dir)) ?? dir;
    this.projectOfDir.set(dir, found);
    return found;
  }

  /** Directories of the projects linted so far. */
  knownProjects(): string[] {
    return [...this.projects.keys()];
  }

  /** Lints the project holding `file`; returns the diagnostics of every file of the project (files without any included, empty). */
  async lintProjectOf(file: string): Promise<{ dir: string; byFile: Map<string, LintDiagnostic[]> }> {
    const dir = await this.projectDir(file);
    return { dir, byFile: await this.lintProject(dir) };
  }

  async lintProject(dir: string): Promise<Map<string, LintDiagnostic[]>> {
    const state = this.state(dir);
    // Listed by name only: a file is read when a configuration reaches it or it is open in the editor.
    state.files ??= await listProjectFiles(dir);
    const files = state.files;
    const named = [...this.overlays.keys()].filter((o) => isUnder(o, dir) && o.endsWith('.nix')).sort();
    const budget = new ReadBudget();
    const reader = this.reader(state, budget);
    const flake = await readFlakeInfo(dir, reader);
    const project = await buildProject(dir, reader, state.cache, { files, named, ...(flake ? { flake } : {}) });
    state.last = project;
    const read = [...project.files.keys()];
    const base = await this.baseFor(state, files, read, named);
    const deployed = await this.deployedFor(state, files, read, named);
    let diagnostics = runRules({
      project,
      ...(base ? { base } : {}),
      ...(deployed ? { deployed } : {}),
      machine: this.machine,
    });
    if (this.amend) diagnostics = this.amend(project, diagnostics);
    const byFile = new Map<string, LintDiagnostic[]>();
    for (const f of project.files.keys()) byFile.set(f, []);
    for (const d of diagnostics.sort(compareDiagnostics)) {
      const list = byFile.get(d.file) ?? [];
      list.push(d);
      byFile.set(d.file, list);
    }
    // skipped files get their hint (and nothing else: they were not read)
    for (const [f, why] of budget.skipped) if (f.endsWith('.nix')) byFile.set(f, [skippedDiagnostic(f, why)]);
    return byFile;
  }

  /** Markdown for a hover at `offset` in `file`, about stateVersion (from the last lint of its project). */
  hover(file: string, offset: number): string | undefined {
    let project: Project | undefined;
    for (const p of this.projects.values()) if (isUnder(file, p.dir) && p.last) project = p.last;
    if (!project) return undefined;
    const info = project.files.get(file);
    if (!info) return undefined;
    for (const def of info.defs) {
      if (offset < def.name.start || offset > def.value.end) continue;
      if (def.key !== 'system.stateVersion' && def.key !== 'home.stateVersion') continue;
      const roots = project.roots.filter((r) => r.modules.includes(info));
      const root = roots[0];
      const v = resolveValue(def.value, def.file, root);
      const rel = nixpkgsReleaseFor(project.flake, root?.nixpkgsInput);
      const lines = [
        `**${def.key}**${v.kind === 'string' ? ` = "${v.value}"` : ''}${v.kind === 'string' && releaseInfo(v.value) ? ` (NixOS ${v.value} "${releaseInfo(v.value)!.codename}")` : ''}`,
        '',
        'The release this machine (or home) was first installed with. It does not choose the nixpkgs you build from, so changing it upgrades nothing; modules use it to keep defaults that existing data depends on.',
        '',
        rel
          ? `nixpkgs in use: ${rel.kind === 'exact' ? rel.release : `at most ${rel.release}`} (input "${rel.input}", ${rel.source})`
          : 'nixpkgs in use: unknown (no flake.lock input found)',
      ];
      if (v.kind === 'string' && root) {
        const gates = root.kind === 'home' ? HOME_MANAGER_GATES : NIXOS_GATES;
        const rows: string[] = [];
        for (const gate of gates) {
          if (gate.when.kind === 'always') continue;
          const option = gate.when.option;
          const on =
            gate.when.kind === 'enabled'
              ? defsOf(root, option).some(isTrue)
              : firstDefUnder(root, option) !== undefined;
          if (!on) continue;
          const step = defaultFor(gate, v.value, rel?.release ?? LATEST_STABLE);
          if (step)
            rows.push(
              `| ${gate.option} | ${step.value} | ${gate.pinnedBy.some((o) => definesOption(root, o)) ? 'pinned' : 'follows stateVersion'} |`,
            );
        }
        if (rows.length) lines.push('', '| governs here | default | |', '|---|---|---|', ...rows);
      }
      return lines.join('\n');
    }
    return undefined;
  }

  private state(dir: string): ProjectState {
    let s = this.projects.get(dir);
    if (!s) {
      const cache = new ParseCache();
      s = { dir, texts: new Map(), cache, baseCache: new ParseCache(cache) };
      this.projects.set(dir, s);
    }
    return s;
  }

  /** Reads open documents, then cached texts, then the disk, all within `budget` (open documents too). */
  private reader(state: ProjectState, budget: ReadBudget): SourceReader {
    const disk = budgetReader(budget);
    return {
      read: async (p) => {
        const open = this.overlays.get(p);
        if (open !== undefined) return budget.admit(p, open.length) ? open : undefined;
        const cached = state.texts.get(p);
        if (cached !== undefined) return budget.admit(p, cached.length) ? cached : undefined;
        const text = await disk.read(p);
        if (isUnder(p, state.dir) && !budget.skipped.has(p)) state.texts.set(p, text);
        return text;
      },
    };
  }

  private dropComparisons(p: ProjectState): void {
    delete p.base;
    delete p.baseKey;
    delete p.baseCheckedAt;
    delete p.deployed;
    delete p.deployedKey;
    delete p.deployedCheckedAt;
  }

  private async topOf(state: ProjectState): Promise<string | undefined> {
    // Not a repository yet (or git missing): asked again at the next base check, so a `git init` is noticed.
    if (!state.top) state.top = (await gitTopLevel(state.dir)) ?? null;
    return state.top ?? undefined;
  }

  private async baseFor(
    state: ProjectState,
    files: string[],
    read: string[],
    named: string[],
  ): Promise<Comparison | undefined> {
    const rev = this.settings.base;
    if (rev === '') return undefined;
    const now = Date.now();
    if (state.baseCheckedAt !== undefined && now - state.baseCheckedAt < BASE_TTL_MS) return state.base;
    state.baseCheckedAt = now;
    const top = await this.topOf(state);
    if (!top) return undefined;
    const commit = await gitResolve(top, rev);
    if (!commit) {
      delete state.base;
      delete state.baseKey;
      return undefined;
    }
    const key = `${commit}:${files.length}:${named.join('\n')}`;
    if (state.baseKey !== key) {
      const snap = new GitSnapshot(top, commit, rev);
      state.base = {
        project: await projectAtSnapshot(snap, state.dir, files, state.baseCache, read, named),
        label: rev,
      };
      state.baseKey = key;
    }
    return state.base;
  }

  private async deployedFor(
    state: ProjectState,
    files: string[],
    read: string[],
    named: string[],
  ): Promise<Comparison | undefined> {
    if (!this.settings.runDir) return undefined;
    const now = Date.now();
    if (state.deployedCheckedAt !== undefined && now - state.deployedCheckedAt < DEPLOYED_TTL_MS) return state.deployed;
    state.deployedCheckedAt = now;
    // the explorer's answer when it has one (no process); else the activated system's nixos-version
    const rev = this.machine.activated?.revision ?? (await activatedRevision(this.settings.runDir));
    const top = rev ? await this.topOf(state) : undefined;
    const commit = rev && top ? await gitResolve(top, rev) : undefined;
    if (!commit || !top) {
      delete state.deployed;
      return undefined;
    }
    const key = `${commit}:${files.length}:${named.join('\n')}`;
    if (state.deployedKey !== key) {
      const snap = new GitSnapshot(top, commit, `the activated generation (${commit.slice(0, 7)})`);
      state.deployed = {
        project: await projectAtSnapshot(snap, state.dir, files, state.baseCache, read, named),
        label: snap.label,
      };
      state.deployedKey = key;
    }
    return state.deployed;
  }
}

/** `.git/HEAD` or `.git/logs/HEAD`: the files a HEAD move touches. */
export function isGitHeadFile(file: string): boolean {
  const parts = file.split(path.sep);
  const n = parts.length;
  return (
    (parts[n - 1] === 'HEAD' && parts[n - 2] === '.git') ||
    (parts[n - 1] === 'HEAD' && parts[n - 2] === 'logs' && parts[n - 3] === '.git')
  );
}

/** `file` is `dir` or inside it, by whole path segments (`/a/proj2` is not inside `/a/proj`). */
export function isUnder(file: string, dir: string): boolean {
  return file === dir || file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
}
