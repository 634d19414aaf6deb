/** What every planner hands back to its command: the words to confirm, the task to run, what to record. */

/** A modal question: `message` as the title, `detail` as the text, `action` the one button that goes ahead. */
export interface Confirmation {
  message: string;
  detail: string;
  action: string;
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
