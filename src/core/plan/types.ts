/** What every planner hands back to its command: the words to confirm, the task to run, what to record. */

/**
 * A modal question: `message` as the title, `detail` as the text in words, `action` the one button that goes ahead,
 * and `command`, the exact command line behind it, shown only when asked ("Show Command").
 */
export interface Confirmation {
  message: string;
  detail: string;
  action: string;
  command?: string;
}

/**
 * The exact command of a script task for "Show Command": the command line with '<script>' where the script's text
 * goes, then the script itself (its values are the positional parameters, never pasted in).
 */
export function scriptCommand(line: string, scriptText: string): string {
  return [line, '', "# '<script>' above is this script, given to sh -c as it is:", scriptText.trimEnd()].join('\n');
}

/** An activation this extension performed, for the activation history (what it activated, not current-system). */
export interface ActivationEntry {
  /** The history's action word ("switch", "rebuild switch", "safe switch"). */
  action: string;
  profile: string | null;
  generation: number | null;
  storePath: string;
  specialisation?: string;
}

/** A constant script run with the plan's values as positional parameters (never interpolated). */
export interface ScriptTask {
  /** The terminal task's name. */
  name: string;
  /** A name for the script (logs). */
  scriptName: string;
  scriptText: string;
  /** The argv, elevated and resolved, given the script's text (run as `sh -c` text, never from a file). */
  argvFor: (script: string) => string[];
}
