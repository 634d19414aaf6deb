/**
 * VS Code replaces `${...}` in a task's command, arguments, working folder and environment before it runs:
 * `${env:…}` and `${config:…}` read values, `${input:…}` and `${command:…}` run what the workspace's
 * `.vscode/tasks.json` or an extension declares. A value read from a repository (a host name in flake.nix, a
 * flake path, a specialisation, a generation path) must therefore never reach a task with `${` in it: the dialog
 * would show one command and another would run. Every task the extension starts is checked here first.
 */

/** What a task receives: argv (program first), working folder, environment. */
export interface TaskValues {
  argv: readonly string[];
  cwd?: string;
  env?: Readonly<Record<string, string>>;
}

const MARK = '${';

/** Why `value` (described by `what`, e.g. "the host") cannot reach a task, or null when it can. */
export function taskValueProblem(what: string, value: string): string | null {
  if (!value.includes(MARK)) return null;
  return `${what} ${JSON.stringify(value)} contains "\${", which VS Code would replace in a task before running it; refused`;
}

/** The first value of a task that VS Code would rewrite, or null when the task runs exactly as shown. */
export function taskProblem(task: TaskValues): string | null {
  const [program, ...args] = task.argv;
  if (program !== undefined) {
    const p = taskValueProblem('the program', program);
    if (p) return p;
  }
  for (const [i, arg] of args.entries()) {
    const p = taskValueProblem(`argument ${i + 1}`, arg);
    if (p) return p;
  }
  if (task.cwd !== undefined) {
    const p = taskValueProblem('the working folder', task.cwd);
    if (p) return p;
  }
  for (const [name, value] of Object.entries(task.env ?? {})) {
    const p = taskValueProblem(`the environment variable ${name}`, `${name}=${value}`);
    if (p) return p;
  }
  return null;
}
