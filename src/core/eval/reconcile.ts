/**
 * Where the two layers meet: evaluation results replace the static reading's guesses for the hosts evaluated.
 * A static diagnostic the evaluation contradicts for every host it concerns is dropped; one it confirms says so;
 * what only the evaluation sees (a service enabled through a function, stateVersion computed by a helper) is added
 * at the stateVersion line. "What would raising stateVersion change" becomes a lens on that line.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { LineIndex } from '../nix/lineIndex';
import type { Range } from '../nix/lineIndex';
import { NIXOS_GATES } from '../lint/gates';
import type { ConfigRoot, Project } from '../lint/project';
import type { LintDiagnostic } from '../lint/types';
import { describeRaise, showValue } from './digest';
import type { HostEvaluation, RaiseReport } from './types';

const CONFIRMED = 'confirmed by evaluation';

/** A lens on a host's stateVersion line: what raising it would change. */
export interface RaiseLens {
  file: string;
  range: Range;
  host: string;
  stateVersion: string | undefined;
  raise: RaiseReport;
  /** One line, for the lens title and the CLI. */
  title: string;
}

export interface Reconciled {
  diagnostics: LintDiagnostic[];
  lenses: RaiseLens[];
}

function textOf(project: Project, file: string): string | undefined {
  const parsed = project.files.get(file)?.file;
  if (parsed) return parsed.text;
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The range of the first `stateVersion` word in a file (the definition Nix names gives the file, not the line). */
function stateVersionRange(project: Project, file: string): Range | undefined {
  const text = textOf(project, file);
  if (text === undefined) return undefined;
  const m = /\bstateVersion\b/.exec(text);
  if (!m) return undefined;
  return new LineIndex(text).rangeOf(m.index, m.index + m[0].length);
}

function rootOfHost(project: Project, host: string): ConfigRoot | undefined {
  return project.roots.find((r) => r.kind === 'nixos' && r.name === host && r.id.includes('#nixosConfigurations.'));
}

interface Anchor {
  file: string;
  range: Range;
}

function hostAnchor(project: Project, evaluation: HostEvaluation, root: ConfigRoot | undefined): Anchor | undefined {
  for (const d of evaluation.stateVersion.definitions) {
    if (!d.workspaceFile) continue;
    const range = stateVersionRange(project, d.workspaceFile);
    if (range) return { file: d.workspaceFile, range };
  }
  if (root) {
    const r = root.anchorFile.lines.rangeOf(root.anchor.start, Math.min(root.anchor.end, root.anchor.start + 1));
    return { file: root.anchorFile.path, range: r };
  }
  const flake = path.join(evaluation.flakeDir, 'flake.nix');
  return { file: flake, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } };
}

function filesOf(root: ConfigRoot | undefined): Set<string> {
  const out = new Set<string>();
  if (!root) return out;
  out.add(root.anchorFile.path);
  for (const m of root.modules) out.add(m.file.path);
  return out;
}

type Verdict = 'confirmed' | 'refuted';

/** Merges the evaluations of some hosts of `project` into its static diagnostics. */
export function reconcile(
  project: Project,
  diagnostics: readonly LintDiagnostic[],
  evaluations: readonly HostEvaluation[],
): Reconciled {
  const verdicts = new Map<LintDiagnostic, Map<string, Verdict>>();
  const judge = (d: LintDiagnostic, host: string, v: Verdict): void => {
    const m = verdicts.get(d) ?? new Map<string, Verdict>();
    m.set(host, v);
    verdicts.set(d, m);
  };
  const added: LintDiagnostic[] = [];
  const lenses: RaiseLens[] = [];
  const evaluatedRoots = new Set<ConfigRoot>();

  for (const ev of evaluations) {
    const root = rootOfHost(project, ev.host);
    if (root) evaluatedRoots.add(root);
    const files = filesOf(root);
    const anchor = hostAnchor(project, ev, root);
    const byOption = new Map(ev.options.map((o) => [o.option, o]));
    const inHost = (d: LintDiagnostic): boolean =>
      files.has(d.file) || d.message.includes(`(configuration ${ev.host})`);

    // stateVersion missing or not.
    const definedByUser = ev.stateVersion.userDefined;
    const missing = diagnostics.filter(
      (d) => d.code === 'stateversion-missing' && d.message.includes(`NixOS configuration ${ev.host} `),
    );
    for (const d of missing) judge(d, ev.host, definedByUser ? 'refuted' : 'confirmed');
    if (!definedByUser && missing.length === 0 && anchor && ev.stateVersion.highestPrio !== null) {
      added.push({
        file: anchor.file,
        range: anchor.range,
        severity: 'warning',
        code: 'stateversion-missing',
        message: `The NixOS configuration ${ev.host} sets no system.stateVersion (${CONFIRMED}: it takes the default, ${ev.stateVersion.value ?? 'the nixpkgs release'}), so every nixpkgs update silently changes the defaults kept for existing data. Set it to the release this machine was first installed with, and keep it there.`,
      });
    }

    // Home-manager users (a missing home.stateVersion is reported in the user's own module).
    const userFiles = new Set(files);
    for (const r of project.roots) if (root && r.parent === root) for (const f of filesOf(r)) userFiles.add(f);
    for (const user of ev.homeUsers) {
      for (const d of diagnostics) {
        if (
          d.code === 'stateversion-missing' &&
          d.message.includes(`home-manager configuration ${user.name} `) &&
          userFiles.has(d.file)
        ) {
          judge(d, ev.host, user.stateVersion ? 'refuted' : 'confirmed');
        }
      }
    }

    // Gates of the rule database: the service enabled? the option pinned?
    for (const gate of NIXOS_GATES) {
      if (gate.when.kind !== 'enabled') continue;
      const enabled = byOption.get(gate.when.option);
      const isEnabled =
        enabled?.value.ok === true && enabled.value.value.kind === 'value' && enabled.value.value.value === true;
      const pinned = gate.pinnedBy.some((p) => byOption.get(p)?.userDefined === true);
      const effective = byOption.get(gate.option);
      const statics = diagnostics.filter(
        (d) =>
          d.code === 'service-follows-stateversion' &&
          d.message.startsWith(`${gate.option} follows stateVersion`) &&
          inHost(d),
      );
      const knowable = enabled !== undefined && enabled.declared;
      if (!knowable) continue;
      const verdict: Verdict = isEnabled && !pinned ? 'confirmed' : 'refuted';
      for (const d of statics) judge(d, ev.host, verdict);
      if (verdict === 'confirmed' && statics.length === 0 && anchor && gate.class !== 'cosmetic') {
        const now = effective ? showValue(effective.value) : 'its default';
        added.push({
          file: anchor.file,
          range: anchor.range,
          severity: 'information',
          code: 'service-follows-stateversion',
          message: `${gate.option} follows stateVersion and is not set in configuration ${ev.host} (found by evaluation; the static reading could not see it): it is ${now} for stateVersion ${ev.stateVersion.value ?? '?'}. Pin it so that a stateVersion change cannot switch it under existing data: ${gate.impact}.`,
        });
      }
    }

    if (ev.raise && anchor) {
      lenses.push({
        file: anchor.file,
        range: anchor.range,
        host: ev.host,
        stateVersion: ev.stateVersion.value,
        raise: ev.raise,
        title: `${ev.host}: ${describeRaise(ev.raise)}`,
      });
    }
  }

  const unevaluatedFiles = new Set<string>();
  for (const root of project.roots)
    if (!evaluatedRoots.has(root) && root.kind === 'nixos') for (const f of filesOf(root)) unevaluatedFiles.add(f);

  const out: LintDiagnostic[] = [];
  for (const d of diagnostics) {
    const v = verdicts.get(d);
    if (!v) {
      out.push(d);
      continue;
    }
    const confirmedBy = [...v].filter(([, x]) => x === 'confirmed').map(([h]) => h);
    if (confirmedBy.length) {
      out.push({ ...d, message: `${d.message} (${CONFIRMED} of ${confirmedBy.join(', ')})` });
    } else if (unevaluatedFiles.has(d.file) && d.code !== 'stateversion-missing') {
      out.push(d); // another host, not evaluated, may still be concerned
    }
    // else: every host it concerns says otherwise: the static guess was wrong.
  }
  return { diagnostics: [...out, ...added], lenses };
}

/** The lens as a hint diagnostic (for `lint --eval` output). */
export function lensDiagnostic(lens: RaiseLens): LintDiagnostic {
  return {
    file: lens.file,
    range: lens.range,
    severity: 'hint',
    code: 'stateversion-raise-preview',
    message: lens.title,
    raise: {
      host: lens.host,
      target: lens.raise.target,
      changes: lens.raise.changes.map((c) => ({
        option: c.option,
        from: c.from,
        to: c.to,
        ...(c.note ? { note: c.note } : {}),
      })),
    },
  };
}
