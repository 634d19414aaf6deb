/** Pinning the label (recording the commit in every generation): what each outcome of the dry run means. */
import * as path from 'node:path';
import type { PinResult } from '../deploy/pin';
import type { Confirmation } from './types';

export type PinStep =
  /** Nothing to edit: a message; `ok` is the command's result. */
  | { kind: 'tell'; level: 'info' | 'error'; message: string; log: string | null; ok: boolean }
  /** Show the edit and ask. */
  | { kind: 'ask'; confirm: Confirmation; log: string };

export function planPin(plan: PinResult): PinStep {
  if (plan.status === 'not-a-flake') {
    return {
      kind: 'tell',
      level: 'info',
      message:
        'NixOS Generations: this is not a flake, so nothing was edited; the log explains how to record the commit with a classic configuration.',
      log: plan.messages.join('\n'),
      ok: false,
    };
  }
  if (plan.status === 'refused') {
    return {
      kind: 'tell',
      level: 'error',
      message: `NixOS Generations: cannot pin: ${plan.messages[0] ?? 'unknown reason'}`,
      log: plan.messages.join('\n'),
      ok: false,
    };
  }
  if (plan.status === 'unchanged') {
    return {
      kind: 'tell',
      level: 'info',
      message: `NixOS Generations: ${path.basename(plan.file)} already records the commit in every generation.`,
      log: null,
      ok: true,
    };
  }
  const hosts = plan.hosts.map((h) => h.name ?? `line ${h.line}`).join(', ');
  // The edit may touch helper files too (one edit per helper), or create the module file.
  const dir = path.dirname(plan.file);
  const files =
    plan.edits.length > 1 ? plan.edits.map((e) => path.relative(dir, e.file)).join(', ') : path.basename(plan.file);
  const notes = plan.messages.length > 0 ? `\n\n${plan.messages.join('\n')}` : '';
  return {
    kind: 'ask',
    log: `pin edit for ${plan.file}:\n${plan.diff}${notes}`,
    confirm: {
      message: `Apply this edit to ${files}?`,
      // the edit itself is the diff view beside the question (monospaced, in the editor), not in this text
      detail: `Every future generation of ${hosts} records system.configurationRevision (self.rev or self.dirtyRev) and a label ending in the short commit.${notes}`,
      action: 'Apply',
    },
  };
}
