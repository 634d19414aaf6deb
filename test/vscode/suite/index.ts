// Entry point of the tests that run inside a real VS Code extension host. Same contract as
// @vscode/test-electron's `extensionTestsPath`: the module exports run(), and the returned promise settles when
// the tests are done (rejected = failed). Used by test/vscode/run-in-code-server.mjs (code-server, offline) and
// test/vscode/run-electron.ts (desktop VS Code).
//
// It runs every out/test/vscode/**/*.test.js with mocha. Environment knobs (set by the runners):
//   NIXGEN_TEST_GREP     only tests whose full title matches this regular expression
//   NIXGEN_TEST_TIMEOUT  per-test timeout in ms (default 60000)
//   NIXGEN_TEST_RESULTS  write a JSON summary {passes, failures, pending, tests: [...]} to this file
import fs from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';

interface TestResult {
  title: string;
  state: 'passed' | 'failed' | 'pending';
  durationMs?: number;
  error?: string;
}

/** Every *.test.js below `dir`, sorted, so the order is the same on every machine. */
function findTests(dir: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTests(full));
    else if (entry.isFile() && entry.name.endsWith('.test.js')) found.push(full);
  }
  return found.sort();
}

export function run(): Promise<void> {
  const timeout = Number(process.env.NIXGEN_TEST_TIMEOUT) || 60000;
  const mocha = new Mocha({ ui: 'bdd', color: false, reporter: 'spec', timeout });
  if (process.env.NIXGEN_TEST_GREP) mocha.grep(new RegExp(process.env.NIXGEN_TEST_GREP));
  const testsRoot = path.resolve(__dirname, '..');
  const files = findTests(testsRoot);
  for (const f of files) mocha.addFile(f);

  return new Promise<void>((resolve, reject) => {
    if (files.length === 0) {
      reject(new Error(`no *.test.js files under ${testsRoot}`));
      return;
    }
    const results: TestResult[] = [];
    try {
      const runner = mocha.run((failures) => {
        const stats = runner.stats;
        const passes = stats?.passes ?? 0;
        const failed = stats?.failures ?? failures;
        const pending = stats?.pending ?? 0;
        const resultsFile = process.env.NIXGEN_TEST_RESULTS;
        if (resultsFile) {
          fs.writeFileSync(
            resultsFile,
            JSON.stringify({ passes, failures: failed, pending, files, tests: results }, null, 2) + '\n',
          );
        }
        // The closing line CI reads; the runner repeats it as its own last line.
        console.log(`${passes} passed, ${failed} failed${pending ? `, ${pending} pending` : ''}`);
        if (failures > 0) reject(new Error(`${failures} test(s) failed`));
        else if (passes === 0) reject(new Error('no test ran'));
        else resolve();
      });
      runner.on('pass', (t) => results.push({ title: t.fullTitle(), state: 'passed', durationMs: t.duration }));
      runner.on('pending', (t) => results.push({ title: t.fullTitle(), state: 'pending' }));
      runner.on('fail', (t, err: unknown) =>
        results.push({
          title: t.fullTitle(),
          state: 'failed',
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        }),
      );
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
