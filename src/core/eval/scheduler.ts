/**
 * When the editor evaluates: per flake, a while after the last trigger (a save, a flake.lock change, a HEAD move),
 * one host after another, the running evaluation cancelled when a newer trigger makes it stale. Failures are
 * reported once per (flake, host, message); missing inputs once per flake. No editor types here: the language
 * server turns the events into progress, messages and re-lints.
 */
import type { Evaluator } from './evaluator';
import type { HostEvaluation } from './types';

export interface SchedulerEvents {
  /** Evaluating `host` (index of total) in `flakeDir`; `host` undefined when the round is over. */
  progress(flakeDir: string, host: string | undefined, index: number, total: number): void;
  /** New evaluations of `flakeDir` are ready (re-lint its files). */
  results(flakeDir: string): void;
  /** An evaluation failed; called once per distinct message. */
  failure(flakeDir: string, host: string, message: string): void;
  /** The flake's inputs are not in the store; called once per flake. */
  inputsMissing(flakeDir: string, message: string, fetchCommand: string[]): void;
}

interface FlakeState {
  timer?: NodeJS.Timeout;
  controller?: AbortController;
  evaluations: Map<string, HostEvaluation>;
  reportedFailures: Set<string>;
  inputsReported: boolean;
  running?: Promise<void>;
}

export class EvaluationScheduler {
  private readonly flakes = new Map<string, FlakeState>();
  private disposed = false;

  constructor(
    private readonly evaluator: Evaluator,
    private readonly events: SchedulerEvents,
    private readonly debounceMs = 1500,
  ) {}

  private state(flakeDir: string): FlakeState {
    let s = this.flakes.get(flakeDir);
    if (!s) {
      s = { evaluations: new Map(), reportedFailures: new Set(), inputsReported: false };
      this.flakes.set(flakeDir, s);
    }
    return s;
  }

  /** The latest successful evaluation of each host of the flake. */
  evaluations(flakeDir: string): HostEvaluation[] {
    return [...(this.flakes.get(flakeDir)?.evaluations.values() ?? [])];
  }

  /** Flakes evaluated or scheduled so far. */
  knownFlakes(): string[] {
    return [...this.flakes.keys()];
  }

  /**
   * Evaluates the flake's hosts after `debounceMs` without another request; a running round for the flake is
   * cancelled at once (its results would be stale). `hosts` lists the hosts when the round starts.
   */
  request(flakeDir: string, hosts: (signal: AbortSignal) => Promise<string[]>, delayMs = this.debounceMs): void {
    if (this.disposed) return;
    const s = this.state(flakeDir);
    if (s.timer) clearTimeout(s.timer);
    s.controller?.abort();
    s.timer = setTimeout(() => {
      s.timer = undefined;
      const controller = new AbortController();
      s.controller = controller;
      const round = (s.running ?? Promise.resolve()).then(() => this.round(flakeDir, s, hosts, controller.signal));
      s.running = round.catch(() => undefined);
    }, delayMs);
  }

  /** Resolves when no round is scheduled or running (tests, shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const pending = [...this.flakes.values()].filter((s) => s.timer || s.running);
      if (pending.length === 0) return;
      if (pending.every((s) => !s.timer)) {
        const running = pending.map((s) => s.running!);
        await Promise.all(running);
        if (pending.every((s, i) => s.running === running[i] && !s.timer)) return;
      } else {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Cancels everything; no further rounds start. */
  dispose(): void {
    this.disposed = true;
    for (const s of this.flakes.values()) {
      if (s.timer) clearTimeout(s.timer);
      s.controller?.abort();
    }
  }

  private async round(
    flakeDir: string,
    s: FlakeState,
    hosts: (signal: AbortSignal) => Promise<string[]>,
    signal: AbortSignal,
  ): Promise<void> {
    if (signal.aborted) return;
    let names: string[];
    try {
      names = await hosts(signal);
    } catch {
      return;
    }
    let changed = false;
    try {
      for (const [i, host] of names.entries()) {
        if (signal.aborted) return;
        this.events.progress(flakeDir, host, i, names.length);
        const outcome = await this.evaluator.evaluate({ flakeDir, host, signal });
        if (outcome.status === 'ok') {
          if (s.evaluations.get(host) !== outcome.evaluation) changed = true;
          s.evaluations.set(host, outcome.evaluation);
        } else if (outcome.status === 'cancelled') {
          return;
        } else {
          if (s.evaluations.delete(host)) changed = true;
          if (outcome.status === 'inputs-missing') {
            if (!s.inputsReported) {
              s.inputsReported = true;
              this.events.inputsMissing(flakeDir, outcome.message, outcome.fetchCommand);
            }
            break; // every other host needs the same inputs
          }
          const key = `${host}\0${outcome.message}`;
          if (!s.reportedFailures.has(key)) {
            s.reportedFailures.add(key);
            this.events.failure(flakeDir, host, outcome.message);
          }
        }
      }
      for (const host of [...s.evaluations.keys()]) {
        if (!names.includes(host)) {
          s.evaluations.delete(host);
          changed = true;
        }
      }
    } finally {
      this.events.progress(flakeDir, undefined, names.length, names.length);
    }
    if (changed && !signal.aborted) this.events.results(flakeDir);
  }
}
