/**
 * Hostile sizes: no file may take the lint, the language server or `parse` past its budget. A file over 1 MB is
 * skipped with a clear hint (CLI note, a `file-too-large` diagnostic in the server, open documents included); a
 * project stops reading past its byte budget; garbage input reports at most 1,000 errors; `parse` refuses a file
 * it could not hold in 1.5 GB. The timed figures for the shipped CLI are in bench/hostile-sizes.mjs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { budgetReader, LINT_FILE_MAX_BYTES, ReadBudget } from '../../src/core/lint/budget';
import { LintService } from '../../src/core/lint/service';
import { MAX_REPORTED_ERRORS, parse, PARSE_MAX_CHARS } from '../../src/core/nix';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');

/** A syntactically valid NixOS module of about `bytes` bytes. */
function bigModule(bytes: number): string {
  let s = '{ config, ... }: {\n  system.stateVersion = "24.05";\n';
  for (let i = 0; s.length < bytes; i++) s += `  environment.etc."f${i}".text = "x${i}";\n`;
  return `${s}}\n`;
}

describe('security: hostile sizes', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-sizes-')));
    fs.writeFileSync(path.join(dir, 'configuration.nix'), '{ ... }: { imports = [ ./huge.nix ]; }\n');
    fs.writeFileSync(path.join(dir, 'huge.nix'), bigModule(LINT_FILE_MAX_BYTES + 4096));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lint (shipped CLI) skips a file over 1 MB and says so', () => {
    const r = spawnSync(process.execPath, [CLI, 'lint', '--base', '', dir], { encoding: 'utf8', timeout: 60_000 });
    assert.ok(r.status === 0 || r.status === 1, `${r.status}: ${r.stderr}`);
    assert.match(r.stderr, /huge\.nix: skipped: too large \(1\.0 MB; lint reads files up to 1\.0 MB\)/);
  });

  it('the language server skips a too large file and an open document over 1 MB, with a hint on it', async () => {
    const service = new LintService({ base: '', runDir: '' });
    const onDisk = await service.lintProjectOf(path.join(dir, 'configuration.nix'));
    const hint = onDisk.byFile.get(path.join(dir, 'huge.nix'));
    assert.equal(hint?.length, 1);
    assert.equal(hint![0]!.code, 'file-too-large');
    assert.match(hint![0]!.message, /skipped: too large/);
    // an open document (untrusted workspaces too: the service is the same) obeys the same cap
    const open = path.join(dir, 'configuration.nix');
    service.setOverlay(open, bigModule(LINT_FILE_MAX_BYTES + 10));
    const edited = await service.lintProjectOf(open);
    assert.deepEqual(
      edited.byFile.get(open)?.map((d) => d.code),
      ['file-too-large'],
    );
    service.setOverlay(open, '{ ... }: { system.stateVersion = "24.05"; }\n');
    const small = await service.lintProjectOf(open);
    assert.equal(
      small.byFile.get(open)?.some((d) => d.code === 'file-too-large'),
      false,
      'a small text is linted',
    );
  });

  it('stops reading a project past its byte budget', async () => {
    const budget = new ReadBudget(1000, 2500);
    const read = budgetReader(budget);
    const files = ['a', 'b', 'c', 'd'].map((n) => path.join(dir, `${n}.txt`));
    for (const f of files) fs.writeFileSync(f, 'x'.repeat(900));
    fs.writeFileSync(path.join(dir, 'big.txt'), 'x'.repeat(1001));
    // One after another: read concurrently, whichever two stats finish first would take the budget.
    const texts: (string | undefined)[] = [];
    for (const f of [...files, path.join(dir, 'big.txt')]) texts.push(await read.read(f));
    assert.deepEqual(
      texts.map((t) => t?.length),
      [900, 900, undefined, undefined, undefined],
    );
    assert.match(budget.skipped.get(files[2]!) ?? '', /more than 0\.0 MB of Nix files/);
    assert.match(budget.skipped.get(path.join(dir, 'big.txt')) ?? '', /too large/);
    assert.equal(await read.read(files[0]!), 'x'.repeat(900), 'a file already read is read again within budget');
  });

  it('reports at most 1,000 syntax errors, then how many more', () => {
    const garbage = `{ ${'a = ; '.repeat(200_000)}}`;
    const { errors } = parse(garbage);
    assert.ok(errors.length <= MAX_REPORTED_ERRORS + 1, String(errors.length));
    assert.match(errors[errors.length - 1]!.message, /too many errors: \d+ more not reported/);
    const few = parse('{ a = ; }');
    assert.ok(few.errors.length >= 1 && few.errors.length < 5);
  });

  it('parse (shipped CLI) refuses a file too large to hold, and goes on with the next', () => {
    const huge = path.join(dir, 'huge-parse.nix');
    fs.writeFileSync(huge, ')'.repeat(PARSE_MAX_CHARS + 1));
    const ok = path.join(dir, 'ok.nix');
    fs.writeFileSync(ok, '{ }\n');
    const bad = path.join(dir, 'bad.nix');
    fs.writeFileSync(bad, '{ a = ; }\n');
    const r = spawnSync(process.execPath, [CLI, 'parse', huge, ok, bad], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /huge-parse\.nix: skipped: too large/);
    assert.match(r.stdout, /bad\.nix:1:/, 'the next files are still parsed');
  });
});
