/**
 * "Keep this configuration?" while the target counts down: a notification with the remaining seconds, a question
 * with "Keep" and "Revert now", and a status bar item that stays visible (clicking it asks again). Not answering
 * is a valid answer: the target then reverts by itself.
 */
import * as vscode from 'vscode';
import type { Decision, DecisionContext } from '../../core/safeswitch';
import type { PreviewPanel } from './panel';

export interface Countdown {
  /** Shows the question again (status bar click, or the safeSwitch command while one runs). */
  ask(): void;
  /** Answers it (the links of the countdown notification: the safeSwitch command with "keep" or "revert"). */
  answer(decision: Decision): void;
}

/** The countdown notification's links: the safeSwitch command, which answers the running countdown. */
const KEEP_LINK = `command:nixosGenerations.safeSwitch?${encodeURIComponent(JSON.stringify(['keep']))}`;
const REVERT_LINK = `command:nixosGenerations.safeSwitch?${encodeURIComponent(JSON.stringify(['revert']))}`;

let active: Countdown | undefined;

/** The countdown in progress, if any. */
export function activeCountdown(): Countdown | undefined {
  return active;
}

const KEEP = 'Keep';
const REVERT = 'Revert now';

/**
 * Asks whether to keep the new configuration until the deadline. Resolves with the answer; stays pending when the
 * user does not answer (the target decides), and stops asking when `context.signal` aborts.
 */
export function askToKeep(
  context: DecisionContext,
  where: string,
  preview?: { panel: PreviewPanel; showId: string },
): Promise<Decision> {
  return new Promise<Decision>((resolve) => {
    let settled = false;
    const item = vscode.window.createStatusBarItem('nixosGenerations.safeSwitch', vscode.StatusBarAlignment.Left, 1000);
    item.name = 'NixOS Safe Switch';
    item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    item.command = { command: 'nixosGenerations.safeSwitch', title: 'Keep or revert the new configuration' };
    let finishProgress: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const remaining = (): number => Math.max(0, Math.ceil((context.deadline - Date.now()) / 1000));
    let cleanupExtra: (() => void) | undefined;
    const cleanup = (): void => {
      cleanupExtra?.();
      if (timer) clearInterval(timer);
      item.dispose();
      finishProgress?.();
      if (active === countdown) active = undefined;
    };
    const decide = (decision: Decision): void => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(decision);
    };
    const countdown: Countdown = {
      answer: (decision) => decide(decision),
      ask: () => {
        if (settled) return;
        void vscode.window
          .showWarningMessage(
            `Keep this configuration on ${where}? Without an answer it reverts to the previous one in ${remaining()} s.`,
            KEEP,
            REVERT,
          )
          .then((choice) => {
            if (choice === undefined) return;
            if (settled) {
              // The question outlived the switch (the target decided, or another answer came first): say so
              // rather than let the click do nothing.
              void vscode.window.showInformationMessage(
                `The safe switch on ${where} has already ended; "${choice}" changed nothing. See the result reported for it.`,
              );
              return;
            }
            decide(choice === KEEP ? 'keep' : 'revert');
          });
      },
    };
    active = countdown;
    // the preview panel counts down too and has the same two buttons (while it still shows this switch's preview)
    if (preview && preview.panel.showId === preview.showId) {
      preview.panel.sendFor(preview.showId, { type: 'countdown', deadline: context.deadline, where });
      const answered = preview.panel.onAnswer((answer) => decide(answer));
      cleanupExtra = () => answered.dispose();
    }
    const update = (): void => {
      const left = remaining();
      item.text = `$(shield) Keep? ${left} s`;
      item.tooltip = `NixOS safe switch on ${where}: reverts to the previous configuration in ${left} s unless kept. Click to answer.`;
    };
    update();
    item.show();
    // This notification stays until the switch ends (a progress notification never hides by itself, unlike a
    // question with buttons, which VS Code tucks away after a few seconds) and counts down; it answers through its
    // Keep / Revert now links, and its Cancel button reverts now. The question also comes as its own notification.
    void vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Keep the new configuration on ${where}`,
        cancellable: true,
      },
      (progress, token) =>
        new Promise<void>((done) => {
          finishProgress = done;
          token.onCancellationRequested(() => decide('revert'));
          const total = Math.max(1, remaining());
          let last = total;
          const say = (left: number): string =>
            `it reverts to the previous one in ${left} s unless you keep it. [Keep](${KEEP_LINK}) · [Revert now](${REVERT_LINK})`;
          progress.report({ message: say(total) });
          timer = setInterval(() => {
            update();
            const left = remaining();
            progress.report({ message: say(left), increment: ((last - left) / total) * 100 });
            last = left;
            if (left <= 0 && timer) clearInterval(timer);
          }, 1000);
        }),
    );
    context.signal.addEventListener(
      'abort',
      () => {
        if (settled) return;
        settled = true;
        cleanup();
      },
      { once: true },
    );
    countdown.ask();
  });
}
