/**
 * `nixos-generations deploy [NODE]... [--flake DIR] [--target NAME=USER@HOST]... [--parallel N] [--keep-going]
 *   [--elevation sudo|none] [--yes] [--json]`
 *
 * Deploy Machines for scripts and pipelines, on the same planner as the editor (core/plan/deploy-machines): the
 * flake's deploy-rs nodes go to one `deploy --targets` run, a colmena hive to one `colmena apply --on`, otherwise
 * `nixos-rebuild switch --target-host` per machine, at most --parallel at once, no new one after a failure unless
 * --keep-going. Without NODE: every node that can be deployed. The engines are the `deploy`, `colmena` and
 * `nixos-rebuild` on PATH (the user's environment, never the repository's). Without --yes it prints the plan and
 * asks on a terminal (refuses elsewhere). Each step's output is printed when it ends; exit 0 only when every machine
 * was deployed.
 */
import * as path from 'node:path';
import * as readline from 'node:readline';
import { optionValue, parseArgs, UsageError } from '../args';
import type { CliIO } from '../io';
import { parseElevation } from '../../core/deploy/elevation';
import { runProcess } from '../../core/exec/process';
import { readFlakeFleetAt, runDeploy } from '../../core/fleet/deploy';
import { workspaceMachines } from '../../core/fleet/machines';
import { deployChoices, deployReport, planDeployMachines } from '../../core/plan/deploy-machines';

export async function run(args: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(args, {
    flake: { value: true },
    target: { value: true, repeat: true },
    parallel: { value: true },
    'keep-going': {},
    elevation: { value: true },
    yes: {},
    json: {},
  });
  const dir = path.resolve(io.cwd, optionValue(parsed, 'flake') ?? '.');
  const targets: Record<string, string> = {};
  for (const t of parsed.values.get('target') ?? []) {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new UsageError(`--target takes NAME=USER@HOST, not ${JSON.stringify(t)}`);
    targets[t.slice(0, eq)] = t.slice(eq + 1);
  }
  const parallelText = optionValue(parsed, 'parallel') ?? '4';
  if (!/^\d+$/.test(parallelText) || Number(parallelText) < 1) throw new UsageError('--parallel needs a number > 0');
  let elevation;
  try {
    elevation = parseElevation(optionValue(parsed, 'elevation') ?? 'sudo');
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const say = (text: string): void => io.err(`nixos-generations deploy: ${text}\n`);

  const fleet = await readFlakeFleetAt(dir);
  for (const gap of fleet.gaps) say(gap);
  const machines = workspaceMachines({ setting: targets, fleet });
  const choices = deployChoices(fleet, machines);
  const selection =
    parsed.positionals.length > 0 ? parsed.positionals : choices.filter((c) => c.problem === null).map((c) => c.name);
  if (selection.length === 0) {
    say(`no machine of ${dir} can be deployed: ${choices.map((c) => `${c.name}: ${c.problem}`).join('; ') || 'none'}`);
    return 1;
  }
  const plan = planDeployMachines({
    fleet,
    machines,
    selection,
    flake: dir,
    settings: {
      rebuildCommand: 'nixos-rebuild',
      deployRsCommand: 'deploy',
      colmenaCommand: 'colmena',
      deployParallel: Number(parallelText),
      deployKeepGoing: parsed.flags.has('keep-going'),
      elevation,
    },
  });
  if (typeof plan === 'string') {
    say(plan);
    return 1;
  }
  io.err(`${plan.confirm.message}\n${plan.confirm.detail}\n${plan.confirm.command ?? ''}\n`);
  if (!parsed.flags.has('yes')) {
    if (!process.stdin.isTTY) {
      say('not a terminal: pass --yes to deploy without a question');
      return 1;
    }
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    const answer = await new Promise<string>((resolve) => rl.question(`${plan.confirm.action}? [y/N] `, resolve));
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) return 1;
  }
  const outcomes = await runDeploy(plan.steps, {
    parallel: plan.parallel,
    keepGoing: plan.keepGoing,
    run: async (step) => {
      const r = await runProcess(step.argv, { cwd: dir, baseEnv: io.env, maxOutputBytes: 4 * 1024 * 1024 });
      const head = `== ${step.nodes.join(', ')}: ${step.argv.join(' ')} (exit ${r.exitCode ?? r.signal})\n`;
      io.err(head + r.stdout + r.stderr);
      return r;
    },
  });
  const report = deployReport(outcomes);
  if (parsed.flags.has('json')) {
    io.out(
      `${JSON.stringify(
        outcomes.map((o) => ({
          nodes: o.nodes,
          argv: o.argv,
          status: o.status,
          exitCode: o.result?.exitCode ?? null,
        })),
        null,
        2,
      )}\n`,
    );
  } else io.out(`${report.lines.join('\n')}\n${report.message.replace(/^NixOS Generations: /, '')}\n`);
  return report.level === 'info' ? 0 : 1;
}
