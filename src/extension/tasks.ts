import * as vscode from 'vscode';
import { shellJoin } from '../core/exec/quote';
import { taskProblem } from '../core/exec/task-values';
import { log } from './log';

export interface TerminalRun {
  /** Shown as the task's name and the terminal's title. */
  name: string;
  /** The program and its arguments; run without a shell (ProcessExecution). */
  argv: readonly string[];
  cwd?: string;
  env?: Record<string, string>;
}

/** The outcome of a task: its exit code, or undefined when it was terminated or could not start. */
export interface TerminalResult {
  exitCode: number | undefined;
}

const TASK_SOURCE = 'NixOS Generations';

/**
 * Runs argv as a VS Code Task in the integrated terminal, where the user sees the output and can type a
 * sudo password, and resolves with the exit code observed on that same execution.
 */
export async function runInTerminal(run: TerminalRun): Promise<TerminalResult> {
  const [program, ...args] = run.argv;
  if (!program) throw new Error('empty command line');
  // VS Code would rewrite `${...}` in any of these: what runs must be what was shown
  const problem = taskProblem(run);
  if (problem) throw new Error(problem);
  const execution = new vscode.ProcessExecution(program, args, {
    ...(run.cwd !== undefined ? { cwd: run.cwd } : {}),
    ...(run.env !== undefined ? { env: run.env } : {}),
  });
  const task = new vscode.Task(
    { type: 'nixosGenerations', name: run.name },
    vscode.TaskScope.Workspace,
    run.name,
    TASK_SOURCE,
    execution,
  );
  task.presentationOptions = {
    reveal: vscode.TaskRevealKind.Always,
    focus: true,
    panel: vscode.TaskPanelKind.Dedicated,
    clear: true,
    showReuseMessage: false,
  };
  log.info(`running in the terminal: ${shellJoin(run.argv)}`);
  return new Promise<TerminalResult>((resolve, reject) => {
    let started: vscode.TaskExecution | undefined;
    let done = false;
    const disposables: vscode.Disposable[] = [];
    const finish = (result: TerminalResult): void => {
      if (done) return;
      done = true;
      disposables.forEach((d) => d.dispose());
      log.info(`${run.name}: exit code ${result.exitCode ?? 'none'}`);
      resolve(result);
    };
    disposables.push(
      vscode.tasks.onDidEndTaskProcess((event) => {
        if (started && event.execution === started) finish({ exitCode: event.exitCode });
      }),
      vscode.tasks.onDidEndTask((event) => {
        // A task that never started a process (bad executable) ends without onDidEndTaskProcess.
        if (started && event.execution === started) setTimeout(() => finish({ exitCode: undefined }), 500);
      }),
    );
    vscode.tasks.executeTask(task).then(
      (execution) => {
        started = execution;
      },
      (error: unknown) => {
        disposables.forEach((d) => d.dispose());
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
