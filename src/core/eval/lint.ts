/**
 * `lint --eval`: the static lint, then every host of each flake evaluated by Nix, the results merged in
 * (see reconcile.ts), and what raising stateVersion would change as a hint on the stateVersion line.
 */
import { shellJoin } from '../exec/quote';
import { lintPaths } from '../lint/engine';
import type { LintOptions, LintRun } from '../lint/engine';
import type { Project } from '../lint/project';
import type { Evaluator } from './evaluator';
import { lensDiagnostic, reconcile } from './reconcile';
import type { EvalOutcome, HostEvaluation } from './types';

/** The hosts of a flake project: the static reading's, or Nix's list when the outputs are built from data. */
export async function hostsOf(
  project: Project,
  evaluator: Evaluator,
  signal?: AbortSignal,
): Promise<{ hosts: string[]; message?: string }> {
  const names = project.roots
    .filter((r) => r.kind === 'nixos' && r.id.includes('#nixosConfigurations.') && r.name !== '?')
    .map((r) => r.name);
  if (names.length && !project.unresolvedOutputs) return { hosts: [...new Set(names)] };
  return evaluator.hosts(project.dir, signal);
}

export interface EvalLintRun extends LintRun {
  outcomes: { flakeDir: string; host: string; outcome: EvalOutcome }[];
}

/** Lints as `lintPaths` does, then evaluates each flake's hosts (one at a time) and merges the results. */
export async function lintWithEvaluation(
  paths: readonly string[],
  options: LintOptions,
  evaluator: Evaluator,
): Promise<EvalLintRun> {
  const outcomes: EvalLintRun['outcomes'] = [];
  const inputsReported = new Set<string>();
  const extraNotes: string[] = [];
  const run = await lintPaths(paths, {
    ...options,
    amend: async (project, diagnostics) => {
      if (!project.flakeFile) return diagnostics;
      const { hosts, message } = await hostsOf(project, evaluator);
      if (message) extraNotes.push(`${project.dir}: cannot list nixosConfigurations: ${message}`);
      const evaluations: HostEvaluation[] = [];
      for (const host of hosts) {
        const outcome = await evaluator.evaluate({ flakeDir: project.dir, host });
        outcomes.push({ flakeDir: project.dir, host, outcome });
        if (outcome.status === 'ok') evaluations.push(outcome.evaluation);
        else if (outcome.status === 'inputs-missing') {
          if (!inputsReported.has(project.dir)) {
            inputsReported.add(project.dir);
            extraNotes.push(
              `${project.dir}: the flake's inputs are not fetched yet, so it cannot be evaluated offline; fetch them with: ${shellJoin(outcome.fetchCommand)}`,
            );
          }
        } else if (outcome.status === 'failed' || outcome.status === 'nix-missing') {
          extraNotes.push(`${project.dir}: evaluating ${host} failed: ${outcome.message}`);
        }
      }
      const merged = reconcile(project, diagnostics, evaluations);
      return [...merged.diagnostics, ...merged.lenses.map(lensDiagnostic)];
    },
  });
  run.notes.push(...extraNotes);
  return { ...run, outcomes };
}
