/**
 * Deploying many machines through the engine the flake already uses, nothing home-made where one exists:
 *   - deploy-rs (`deploy.nodes.<n>.hostname` / `sshUser`): one `deploy --targets .#a .#b` (its magic rollback stays on);
 *   - colmena (a `colmena` hive, `deployment.targetHost` / `targetUser` per node): one `colmena apply --on a,b`;
 *   - otherwise `nixos-rebuild switch --flake .#host --target-host user@host` per machine, a few at once.
 * CLIs targeted: deploy-rs 1.0 (`--targets`, `--skip-checks`), colmena 0.4 (`apply --on`), nixos-rebuild(-ng) of
 * NixOS 24.11 (`--target-host`, `--use-remote-sudo`).
 *
 * The nodes are read statically from the flake (core/hosts' interpreter, nothing evaluated by Nix).
 */
import * as path from 'node:path';
import { readFlakeFiles } from '../deploy/pin';
import { COMPUTED_HOST, discoverHosts, flakeOutputsValue, sourceTreeOf } from '../hosts';
import { Interpreter, type SourceTree, type Thunk, type Value } from '../hosts/eval';
import { runProcess, type RunResult } from '../exec/process';
import { validateHost } from '../target';

export type DeployEngine = 'deploy-rs' | 'colmena' | 'nixos-rebuild';

export interface FleetNode {
  name: string;
  /** ssh host name, when written statically. */
  hostname: string | null;
  user: string | null;
}

export interface FlakeFleet {
  engine: DeployEngine;
  nodes: FleetNode[];
  /** What could not be read statically. */
  gaps: string[];
}

function str(interp: Interpreter, v: Value, ...pathParts: string[]): string | null {
  let cur = v;
  for (const p of pathParts) {
    if (cur.t !== 'attrs') return null;
    cur = interp.select(cur, p);
  }
  return cur.t === 'str' ? cur.v : null;
}

/** The engine and nodes of the flake at `flakePath` (read through `tree`); nixosConfigurations as the fallback. */
export function readFlakeFleet(flakePath: string, tree: SourceTree, hostNames: readonly string[] = []): FlakeFleet {
  const gaps: string[] = [];
  const flake = tree.file(flakePath);
  if (flake) {
    const interp = new Interpreter(tree);
    const outputs = flakeOutputsValue(interp, flake);
    if (outputs.t === 'attrs') {
      const deploy = outputs.attrs.get('deploy');
      const nodesValue = deploy ? interp.select(interp.force(deploy), 'nodes') : null;
      if (nodesValue?.t === 'attrs' && nodesValue.attrs.size > 0) {
        const nodes = [...nodesValue.attrs.entries()].map(([name, thunk]) => {
          const node = interp.force(thunk);
          const hostname = str(interp, node, 'hostname');
          if (hostname === null) gaps.push(`deploy.nodes.${name}.hostname is not a plain string`);
          return { name, hostname, user: str(interp, node, 'sshUser') };
        });
        return { engine: 'deploy-rs', nodes, gaps };
      }
      const hive = outputs.attrs.get('colmena') ?? outputs.attrs.get('colmenaHive');
      const hiveValue = hive ? interp.force(hive) : null;
      if (hiveValue?.t === 'attrs') {
        const nodes: FleetNode[] = [];
        for (const [name, thunk] of hiveValue.attrs) {
          if (name === 'meta' || name === 'defaults') continue;
          let node = interp.force(thunk);
          // a node is a module: `{ name, nodes, pkgs, ... }: { deployment.targetHost = ...; }` or an attribute set
          if (node.t === 'lambda') {
            const args: Thunk = { value: { t: 'opaque', name: 'module arguments' } };
            node = interp.applyLambda(node, args);
          }
          const hostname = str(interp, node, 'deployment', 'targetHost');
          nodes.push({
            name,
            hostname: hostname ?? name,
            user: str(interp, node, 'deployment', 'targetUser') ?? 'root',
          });
        }
        return { engine: 'colmena', nodes, gaps };
      }
    } else gaps.push(`the outputs of ${flakePath} are not followed`);
  } else gaps.push(`cannot read ${flakePath}`);
  return { engine: 'nixos-rebuild', nodes: hostNames.map((name) => ({ name, hostname: null, user: null })), gaps };
}

/** The fleet of the flake in `dir`, its .nix files read from disk (nixosConfigurations hosts as the fallback). */
export async function readFlakeFleetAt(dir: string): Promise<FlakeFleet> {
  const flakePath = path.join(dir, 'flake.nix');
  const tree = sourceTreeOf(await readFlakeFiles(dir));
  const hostNames = discoverHosts(flakePath, tree)
    .hosts.filter((h) => h.kind === 'nixos' && !h.computedName && h.name !== COMPUTED_HOST)
    .map((h) => h.name);
  return readFlakeFleet(flakePath, tree, [...new Set(hostNames)]);
}

export interface DeployStep {
  /** The machines this step deploys. */
  nodes: string[];
  argv: string[];
}

export interface DeployPlanOptions {
  /** The flake reference (default "."). */
  flake?: string;
  /** ssh targets from the machine-scoped setting (host name -> user@host), used by nixos-rebuild. */
  targets?: Readonly<Record<string, string>>;
  /** nixos-rebuild's elevation on the target. */
  remoteSudo?: boolean;
}

const NODE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** The commands that deploy `selection` (node names) of `fleet`; an error string for a bad selection. */
export function planDeploy(
  fleet: FlakeFleet,
  selection: readonly string[],
  options: DeployPlanOptions = {},
): DeployStep[] | string {
  const flake = options.flake ?? '.';
  const known = new Map(fleet.nodes.map((n) => [n.name, n]));
  for (const name of selection) {
    if (!NODE_NAME.test(name)) return `not a node name: ${JSON.stringify(name)}`;
    if (fleet.engine !== 'nixos-rebuild' && !known.has(name))
      return `${name} is not a ${fleet.engine} node of the flake`;
  }
  if (selection.length === 0) return 'no machine selected';
  switch (fleet.engine) {
    case 'deploy-rs':
      return [{ nodes: [...selection], argv: ['deploy', '--targets', ...selection.map((n) => `${flake}#${n}`)] }];
    case 'colmena':
      return [{ nodes: [...selection], argv: ['colmena', 'apply', '--on', selection.join(',')] }];
    case 'nixos-rebuild': {
      const steps: DeployStep[] = [];
      for (const name of selection) {
        const node = known.get(name);
        const target =
          options.targets?.[name] ?? (node?.hostname ? `${node.user ? `${node.user}@` : ''}${node.hostname}` : null);
        if (!target) return `no ssh target for ${name}: set it in the machine-scoped targets setting`;
        const problem = validateHost(target);
        if (problem) return problem;
        steps.push({
          nodes: [name],
          argv: [
            'nixos-rebuild',
            'switch',
            '--flake',
            `${flake}#${name}`,
            '--target-host',
            target,
            ...(options.remoteSudo ? ['--use-remote-sudo'] : []),
          ],
        });
      }
      return steps;
    }
  }
}

export interface DeployOutcome {
  nodes: string[];
  argv: string[];
  status: 'ok' | 'failed' | 'skipped';
  result: RunResult | null;
}

/**
 * Runs the steps, at most `parallel` at once; after the first failure no new step starts unless `keepGoing`.
 * `run` runs one step (default: runProcess; the editor runs each in a terminal of its own).
 */
export async function runDeploy(
  steps: readonly DeployStep[],
  options: {
    parallel?: number;
    keepGoing?: boolean;
    cwd?: string;
    run?: (step: DeployStep) => Promise<RunResult>;
  } = {},
): Promise<DeployOutcome[]> {
  const outcomes: DeployOutcome[] = steps.map((s) => ({
    nodes: s.nodes,
    argv: s.argv,
    status: 'skipped',
    result: null,
  }));
  const run = options.run ?? ((s: DeployStep) => runProcess(s.argv, { ...(options.cwd ? { cwd: options.cwd } : {}) }));
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < steps.length && (!failed || options.keepGoing)) {
      const i = next++;
      const result = await run(steps[i]!);
      outcomes[i] = { ...outcomes[i]!, result, status: result.exitCode === 0 ? 'ok' : 'failed' };
      if (result.exitCode !== 0) failed = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallel ?? 4, steps.length)) }, worker));
  return outcomes;
}

/** The per-machine summary printed at the end. */
export function deploySummary(outcomes: readonly DeployOutcome[]): string {
  const lines = outcomes.flatMap((o) =>
    o.nodes.map(
      (n) =>
        `  ${n}: ${o.status === 'ok' ? 'deployed' : o.status === 'failed' ? `FAILED (exit ${o.result?.exitCode ?? o.result?.signal})` : 'not started (an earlier one failed)'}`,
    ),
  );
  const ok = outcomes.filter((o) => o.status === 'ok').reduce((n, o) => n + o.nodes.length, 0);
  const all = outcomes.reduce((n, o) => n + o.nodes.length, 0);
  return `${lines.join('\n')}\n${ok} of ${all} machines deployed\n`;
}
