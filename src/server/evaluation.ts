/**
 * The evaluation layer in the language server: in a trusted workspace with `nix` available and the setting on,
 * each flake's hosts are evaluated in the background (core/eval/scheduler) after a save, a flake.lock change or a
 * HEAD move; progress shows the host name, each evaluation's time goes to the log, the results replace the static
 * guesses (LintService.amend → core/eval/reconcile), a failure is shown once as information with Nix's message,
 * and the stateVersion line gets a code lens and a hover saying what raising it would change. Typing never waits:
 * the static lint runs as before and uses the latest evaluation that finished.
 */
import * as path from 'node:path';
import { MessageType, ShowMessageNotification } from 'vscode-languageserver/node';
import type { CodeLens, Connection, Position } from 'vscode-languageserver/node';
import { runProcess } from '../core/exec/process';
import { shellJoin } from '../core/exec/quote';
import { Evaluator } from '../core/eval/evaluator';
import { hostsOf } from '../core/eval/lint';
import { reconcile } from '../core/eval/reconcile';
import type { RaiseLens } from '../core/eval/reconcile';
import { EvaluationScheduler } from '../core/eval/scheduler';
import type { LintService } from '../core/lint/service';
import type { LintDiagnostic } from '../core/lint/types';
import type { Project } from '../core/lint/project';
import type { EvaluationSettings } from '../core/protocol';

const LENS_TITLE_MAX = 180;

export class ServerEvaluation {
  private scheduler: EvaluationScheduler | undefined;
  private evaluator: Evaluator | undefined;
  private canRefreshLenses = false;
  /** Projects seen by the lint: each is evaluated once when first linted, then on saves and lock/HEAD changes. */
  private readonly seen = new Set<string>();
  private settingsKey = '';
  private readonly lenses = new Map<string, RaiseLens[]>();
  private progress: { done(): void; report(message: string): void } | undefined;
  private progressPending: Promise<unknown> | undefined;
  private canShowProgress = false;

  constructor(
    private readonly connection: Connection,
    private readonly service: LintService,
    /** Re-lints the open files of a project directory (evaluation results changed). */
    private readonly relint: (dir: string) => void,
  ) {
    service.amend = (project, diagnostics) => this.amend(project, diagnostics);
  }

  setClientCapabilities(capabilities: { workDoneProgress: boolean; codeLensRefresh: boolean }): void {
    this.canShowProgress = capabilities.workDoneProgress;
    this.canRefreshLenses = capabilities.codeLensRefresh;
  }

  /** Turns evaluation on or off; off when the workspace is untrusted, the setting is off or nix does not run. */
  async configure(settings: EvaluationSettings, trusted: boolean): Promise<void> {
    const key = JSON.stringify([settings, trusted]);
    if (key === this.settingsKey) return;
    this.settingsKey = key;
    this.scheduler?.dispose();
    this.scheduler = undefined;
    this.evaluator = undefined;
    this.lenses.clear();
    if (!trusted || !settings.enabled) {
      this.log(
        `evaluation is off (${!trusted ? 'the workspace is not trusted' : 'nixosGenerations.evaluation.enabled is false'})`,
      );
      return;
    }
    const version = await runProcess([settings.nix, '--version'], { timeoutMs: 10_000 }).catch(() => undefined);
    if (!version || version.exitCode !== 0) {
      this.log(`evaluation is off: '${settings.nix} --version' did not run (set nixosGenerations.evaluation.nix)`);
      return;
    }
    this.log(`evaluation with ${version.stdout.trim()}`);
    if (this.settingsKey !== key) return;
    const evaluator = new Evaluator({ nix: settings.nix, log: (line) => this.log(line) });
    this.evaluator = evaluator;
    this.scheduler = new EvaluationScheduler(evaluator, {
      progress: (dir, host, index, total) => this.showProgress(dir, host, index, total),
      results: (dir) => this.relint(dir),
      failure: (dir, host, message) => {
        this.inform(
          `NixOS Generations: evaluating ${host} (${path.basename(dir)}) failed, so its diagnostics stay the static reading's. Nix said: ${message}`,
        );
      },
      inputsMissing: (dir, _message, command) => {
        this.inform(
          `NixOS Generations: the inputs of ${path.basename(dir)}'s flake are not fetched yet, so it is not evaluated (everything runs offline). Fetch them with: ${shellJoin(command)}`,
        );
      },
    });
    for (const dir of this.service.knownProjects()) this.request(dir, 0);
  }

  /** A file was saved, or flake.lock / HEAD changed under `dir`. */
  request(dir: string, delayMs?: number): void {
    const scheduler = this.scheduler;
    const evaluator = this.evaluator;
    if (!scheduler || !evaluator) return;
    const project = this.service.lastProject(dir);
    if (project && !project.flakeFile) return;
    scheduler.request(
      dir,
      async (signal) => {
        const current = this.service.lastProject(dir);
        if (!current?.flakeFile) return [];
        const { hosts, message } = await hostsOf(current, evaluator, signal);
        if (message) this.log(`cannot list the hosts of ${dir}: ${message}`);
        return hosts;
      },
      delayMs,
    );
  }

  /** Called by the lint after the rules: the latest evaluations of the project replace the static guesses. */
  private amend(project: Project, diagnostics: LintDiagnostic[]): LintDiagnostic[] {
    if (!this.seen.has(project.dir)) {
      this.seen.add(project.dir);
      this.request(project.dir, 0);
    }
    for (const file of [...this.lenses.keys()]) if (file.startsWith(project.dir + path.sep)) this.lenses.delete(file);
    const evaluations = this.scheduler?.evaluations(project.dir) ?? [];
    if (evaluations.length === 0) return diagnostics;
    const merged = reconcile(project, diagnostics, evaluations);
    for (const lens of merged.lenses) {
      const list = this.lenses.get(lens.file) ?? [];
      list.push(lens);
      this.lenses.set(lens.file, list);
    }
    if (this.canRefreshLenses) void this.connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
    return merged.diagnostics;
  }

  codeLenses(file: string): CodeLens[] {
    return (this.lenses.get(file) ?? []).map((lens) => ({
      range: lens.range,
      // No command to run: the lens is the answer itself (the hover lists every change).
      command: { title: shorten(lens.title), command: '' },
    }));
  }

  /** Markdown for a hover on a stateVersion line that has a lens. */
  hover(file: string, position: Position): string | undefined {
    const hits = (this.lenses.get(file) ?? []).filter((l) => l.range.start.line === position.line);
    if (hits.length === 0) return undefined;
    return hits
      .map((l) => {
        const head = `**Raising stateVersion** of ${l.host} from ${l.stateVersion ?? '?'} to ${l.raise.target} (evaluated by Nix):`;
        if (!l.raise.available) return `${head} ${l.raise.reason ?? 'could not be evaluated'}`;
        if (l.raise.changes.length === 0) return `${head} none of the compared options changes.`;
        const rows = l.raise.changes.map(
          (c) => `- \`${c.option}\`: ${c.from} → ${c.to}${c.note ? ` — **${c.note}**` : ''}`,
        );
        return [head, ...rows].join('\n');
      })
      .join('\n\n');
  }

  dispose(): void {
    this.scheduler?.dispose();
    this.progress?.done();
  }

  private showProgress(dir: string, host: string | undefined, index: number, total: number): void {
    if (!this.canShowProgress) return;
    if (host === undefined) {
      const pending = this.progressPending;
      this.progressPending = undefined;
      void pending?.then(() => {
        this.progress?.done();
        this.progress = undefined;
      });
      return;
    }
    const message = `${host} (${index + 1}/${total}, ${path.basename(dir)})`;
    if (!this.progressPending) {
      this.progressPending = this.connection.window.createWorkDoneProgress().then(
        (p) => {
          p.begin('Evaluating NixOS host', undefined, message);
          this.progress = p;
        },
        () => undefined,
      );
    } else {
      void this.progressPending.then(() => this.progress?.report(message));
    }
  }

  /** A notification (not a request): nothing to answer, nothing to wait for. */
  private inform(message: string): void {
    void this.connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Info, message });
  }

  private log(line: string): void {
    this.connection.console.info(`nixos-generations: ${line}`);
  }
}

function shorten(title: string): string {
  return title.length > LENS_TITLE_MAX ? `${title.slice(0, LENS_TITLE_MAX - 1)}…` : title;
}
