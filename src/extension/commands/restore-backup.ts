/**
 * `nixosGenerations.restoreTransitionBackup`: pick a backup recorded in the target's transition journal, see what
 * restoring it does, confirm, restore. Planned by core/plan/restore-backup; on this machine the restore runs as a
 * terminal task (elevated there, where a password can be typed); on a remote target through core/target, its
 * output in the log.
 */
import * as vscode from 'vscode';
import { elevationPrefix } from '../../core/deploy/elevation';
import { backupChoices, planRestore, POSTGRES_JOURNAL } from '../../core/plan/restore-backup';
import { safeSwitchTarget } from '../../core/plan/safe-switch';
import { remoteElevation, runOnTarget, type Target } from '../../core/target';
import { parseJournal, type JournalData } from '../../core/transitions/journal';
import type { CommandFactory } from '../context';
import { confirm, elevationFacts } from '../deploy/support';
import { log } from '../log';
import { runInTerminal } from '../tasks';
import { requireTrust } from '../trust';

/** Reads the root-only journal without a prompt (non-interactive elevation); null when there is none. */
async function readTargetJournal(target: Target, elevate: readonly string[]): Promise<JournalData | null> {
  const r = await runOnTarget(
    target,
    ['sh', '-c', 'if [ -e "$1" ]; then cat -- "$1"; else echo absent; fi', 'nixgen-read-journal', POSTGRES_JOURNAL],
    { elevate, timeoutMs: 30_000, maxOutputBytes: 8 * 1024 * 1024 },
  );
  if (r.exitCode !== 0) {
    throw new Error(`cannot read ${POSTGRES_JOURNAL}: ${r.stderr.trim().split('\n').pop() || `exit ${r.exitCode}`}`);
  }
  if (r.stdout.trim() === 'absent') return null;
  return parseJournal(r.stdout, POSTGRES_JOURNAL);
}

export const restoreTransitionBackup: CommandFactory = (services) => async () => {
  if (!requireTrust('Restoring a backup')) return;
  const settings = services.config.snapshot();
  const target = safeSwitchTarget(settings.targetHost);
  const where = target.kind === 'ssh' ? target.host : 'this machine';
  const facts = await elevationFacts();
  // Reading: never a prompt (sudo -n); the restore itself may ask for a password in the terminal.
  const quiet = target.kind === 'ssh' || facts.isRoot ? [] : remoteElevation('localhost', settings.elevation);
  const readElevation = target.kind === 'ssh' ? remoteElevation(target.host, settings.elevation) : quiet;
  let journal: JournalData | null;
  try {
    journal = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `Reading the transition journal on ${where}` },
      () => readTargetJournal(target, readElevation),
    );
  } catch (error) {
    void vscode.window.showErrorMessage(
      `NixOS Generations: ${(error as Error).message}. The journal is root's: run ` +
        `"sudo ${settings.transitionsCommand.join(' ')} transition postgresql --restore" in a terminal on ${where}.`,
    );
    return;
  }
  const { choices, none } = backupChoices(journal);
  if (none !== null) {
    void vscode.window.showInformationMessage(`NixOS Generations: ${none}.`);
    return;
  }
  const picked = await vscode.window.showQuickPick(choices, {
    title: `Restore a backup on ${where}`,
    placeHolder: 'Which backup? (newest first)',
    matchOnDescription: true,
  });
  if (!picked) return;
  const elevate =
    target.kind === 'ssh'
      ? remoteElevation(target.host, settings.elevation)
      : elevationPrefix(settings.elevation, { kind: 'terminal' }, facts).prefix;
  const plan = planRestore({
    backup: picked.backup,
    journalFile: POSTGRES_JOURNAL,
    cli: settings.transitionsCommand,
    where,
    elevate,
  });
  if (!(await confirm(plan.confirm))) return;
  log.info(`restore on ${where}: ${plan.confirm.command ?? ''}`);
  if (target.kind === 'local') {
    const result = await runInTerminal({ name: plan.name, argv: [...elevate, ...plan.argv] });
    if (result.exitCode === 0) {
      void vscode.window.showInformationMessage(
        `NixOS Generations: ${picked.backup.id} restored into ${picked.backup.target}.`,
      );
    } else {
      void vscode.window.showErrorMessage(
        `NixOS Generations: the restore failed; see the terminal and ${POSTGRES_JOURNAL}.`,
      );
    }
    return;
  }
  const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: plan.name }, () =>
    runOnTarget(target, plan.argv, { elevate, timeoutMs: 6 * 60 * 60 * 1000 }),
  );
  log.info(`${r.stdout}${r.stderr}`.trim());
  if (r.exitCode === 0) {
    void vscode.window.showInformationMessage(
      `NixOS Generations: ${picked.backup.id} restored into ${picked.backup.target} on ${where}.`,
    );
  } else {
    void vscode.window
      .showErrorMessage(
        `NixOS Generations: the restore on ${where} failed (exit ${r.exitCode ?? r.signal}).`,
        'Show Log',
      )
      .then((choice) => (choice ? log.show() : undefined));
  }
};
