/** Lints a file's project after a pause; edits during a run queue one more run after it (never two at once). */
export class LintScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly lint: (file: string) => Promise<void>,
    private readonly debounceMs: number,
  ) {}

  schedule(file: string, delay = this.debounceMs): void {
    const pending = this.timers.get(file);
    if (pending) clearTimeout(pending);
    this.timers.set(
      file,
      setTimeout(() => {
        this.timers.delete(file);
        const before = this.running.get(file) ?? Promise.resolve();
        const run = before.then(() => this.lint(file));
        this.running.set(file, run);
        void run.finally(() => {
          if (this.running.get(file) === run) this.running.delete(file);
        });
      }, delay),
    );
  }
}
