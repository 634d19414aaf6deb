/** `nixosGenerations.pinLabel`: shows the flake.nix edit (core/deploy/pin) as a diff, asks, applies. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { pinFlake } from '../../core/deploy/pin';
import { planPin } from '../../core/plan/pin';
import type { CommandFactory } from '../context';
import { confirm, firstFolder, flakeTarget } from '../deploy/support';
import { log } from '../log';
import { requireTrust } from '../trust';

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
  // Show the edit as a diff before asking (the first file; the confirmation holds the whole diff).
  const shown = plan.edits.find((e) => e.before !== '') ?? plan.edits[0];
  const previewDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixos-generations-pin-'));
  const preview = path.join(previewDir, `${path.basename(shown?.file ?? plan.file)} (pinned)`);
  fs.writeFileSync(preview, shown?.after ?? plan.after);
  try {
    await vscode.commands.executeCommand(
      'vscode.diff',
      vscode.Uri.file(shown?.file ?? plan.file),
      vscode.Uri.file(preview),
      `${path.basename(shown?.file ?? plan.file)} ↔ pinned to the git commit`,
      { preview: true },
    );
    log.info(step.log);
    if (!(await confirm(step.confirm))) return false;
    const applied = await pinFlake(dir, { dryRun: false });
    if (applied.status !== 'changed' || applied.diff !== plan.diff) {
      throw new Error(`${plan.file} changed meanwhile; run the command again`);
    }
    void vscode.window.showInformationMessage(
      `NixOS Generations: pinned ${path.basename(plan.file)}; rebuild to record the commit.`,
    );
    return true;
  } finally {
    fs.rmSync(previewDir, { recursive: true, force: true });
  }
};
