/** `nixosGenerations.pinLabel`: shows the flake.nix edit (core/deploy/pin) as a diff, asks, applies. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { pinFlake } from '../../core/deploy/pin';
import { planPin } from '../../core/plan/pin';
import type { CommandFactory } from '../context';
import { firstFolder, flakeTarget } from '../deploy/support';
import { log } from '../log';
import { requireTrust } from '../trust';

/** The scheme of the pinned text shown in the diff (package.json: the diff's Apply / Cancel buttons). */
const PIN_SCHEME = 'nixos-generations-pinned';

export const pinLabel: CommandFactory = (services) => async (arg?: unknown) => {
  if (!requireTrust('Pinning the label')) return false;
  const target = flakeTarget(
    services,
    typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : undefined,
  );
  const dir = target.dir ?? firstFolder();
  if (!dir) throw new Error('open the folder of your flake (or set nixosGenerations.flake to a local path)');
  const plan = await pinFlake(dir, { dryRun: true });
  const step = planPin(plan);
  if (step.kind === 'tell') {
    if (step.level === 'error') {
      if (step.log !== null) log.error(step.log);
      void vscode.window.showErrorMessage(step.message, 'Show Log').then((c) => {
        if (c) log.show();
      });
    } else {
      if (step.log !== null) {
        log.info(step.log);
        log.show();
      }
      void vscode.window.showInformationMessage(step.message);
    }
    return step.ok;
  }
  for (const edit of plan.edits) {
    const openDoc = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === edit.file);
    if (openDoc?.isDirty) throw new Error(`${edit.file} has unsaved changes; save it first`);
  }
  // One diff view per edited file (usually just flake.nix): the file as it is against the pinned text, both
  // read-only documents of our own (nothing shows as deleted afterwards; a new module file has an empty left side),
  // with Apply / Cancel on the diff's title bar and in a question that does not cover it.
  const shown: vscode.Uri[] = [];
  for (const edit of [...plan.edits].reverse()) {
    const before = PINNED_SCHEME.show(`${edit.file}.before`, edit.before);
    const after = PINNED_SCHEME.show(edit.file, edit.after);
    shown.push(after);
    await vscode.commands.executeCommand(
      'vscode.diff',
      before,
      after,
      `${path.basename(edit.file)} ↔ pinned to the git commit (Apply or Cancel)`,
      { preview: plan.edits.length === 1 },
    );
  }
  log.info(step.log);
  const answer = await new Promise<boolean>((resolve) => {
    pendingPin = resolve;
    void vscode.window
      .showInformationMessage(`${step.confirm.message} ${step.confirm.detail}`, step.confirm.action, 'Cancel')
      .then((choice) => {
        if (choice !== undefined) answerPin(choice === step.confirm.action);
      });
  });
  await closeDiffs(shown);
  if (!answer) return false;
  const applied = await pinFlake(dir, { dryRun: false });
  if (applied.status !== 'changed' || applied.diff !== plan.diff) {
    throw new Error(`${plan.file} changed meanwhile; run the command again`);
  }
  void vscode.window.showInformationMessage(
    `NixOS Generations: pinned ${path.basename(plan.file)}; rebuild to record the commit.`,
  );
  return true;
};

/** The question of the pin in progress (the diff's title bar buttons answer it too). */
let pendingPin: ((apply: boolean) => void) | undefined;

function answerPin(apply: boolean): void {
  const resolve = pendingPin;
  pendingPin = undefined;
  resolve?.(apply);
}

/** `nixosGenerations.applyPin` / `cancelPin`: the diff view's title bar buttons. */
export const applyPin: CommandFactory = () => () => answerPin(true);
export const cancelPin: CommandFactory = () => () => answerPin(false);

/** Read-only documents holding a pinned flake.nix, by the file's path. */
const PINNED_SCHEME = (() => {
  const texts = new Map<string, string>();
  let registration: vscode.Disposable | undefined;
  return {
    show(file: string, text: string): vscode.Uri {
      registration ??= vscode.workspace.registerTextDocumentContentProvider(PIN_SCHEME, {
        provideTextDocumentContent: (uri) => texts.get(uri.path) ?? '',
      });
      texts.set(file, text);
      return vscode.Uri.from({ scheme: PIN_SCHEME, path: file });
    },
  };
})();

/** Closes the diffs whose right side is one of `pinned`, if still open. */
async function closeDiffs(pinned: readonly vscode.Uri[]): Promise<void> {
  const names = new Set(pinned.map((u) => u.toString()));
  const tabs = vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .filter((t) => t.input instanceof vscode.TabInputTextDiff && names.has(t.input.modified.toString()));
  if (tabs.length > 0) await vscode.window.tabGroups.close(tabs);
}
