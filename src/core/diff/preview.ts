/**
 * The preview of a switch on another machine: its running system read over ssh, the new system's closure put on
 * it, then the comparison with dry-activate run there. What the editor shows before a remote safe switch; for one of
 * the machine's own generations (the explorer's remote switch), both systems are read on the machine.
 */
import type { Target } from '../target';
import { diffSystems, type GenerationDiff } from './index';
import { readRemoteSystem, type RemoteReadOptions } from './remote';

export interface RemotePreviewOptions extends RemoteReadOptions {
  /** The new system's generation number, when it is one. */
  generation?: number | null;
  /**
   * Puts the new system's closure on the target (nix-copy-closure --to), after the running system was read and
   * before dry-activate. A rejection ends the preview with that error. Without it dry-activate is not run.
   */
  copy?: () => Promise<void>;
  /** Elevation of dry-activate on the target (`remoteElevation`). */
  elevate?: readonly string[];
  /** Environment of local nix calls (the new system's closure), and of ssh. */
  localEnv?: NodeJS.ProcessEnv;
  /** Told when a step starts (progress). */
  onStep?: (step: 'reading' | 'copying' | 'comparing') => void;
}

export interface RemotePreview {
  /** The comparison, or null when the running system could not be read (then `problem` says why). */
  diff: GenerationDiff | null;
  problem: string | null;
  /** The closure was copied (so the switch need not copy it again). */
  copied: boolean;
}

/**
 * Reads the target's running system and compares the local `toplevel` with it. Resolves with `problem` set when the
 * target's system cannot be read (unreachable, no nix, no such system): the caller may go on without a preview.
 */
export async function previewRemoteSwitch(
  target: Target,
  toplevel: string,
  options: RemotePreviewOptions = {},
): Promise<RemotePreview> {
  options.onStep?.('reading');
  let running;
  try {
    running = await readRemoteSystem(target, options);
  } catch (error) {
    return { diff: null, problem: error instanceof Error ? error.message : String(error), copied: false };
  }
  let copied = false;
  if (options.copy) {
    options.onStep?.('copying');
    await options.copy();
    copied = true;
  }
  options.onStep?.('comparing');
  const diff = await diffSystems(running, toplevel, {
    generations: { from: null, to: options.generation ?? null },
    runDryActivate: copied,
    target,
    elevate: options.elevate ?? [],
    ...(options.env ? { targetEnv: options.env } : {}),
    ...(options.localEnv ? { env: options.localEnv } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { diff, problem: null, copied };
}

/**
 * The preview of a switch of a machine to a system that is already on it (one of its own generations): both systems
 * read there, and dry-activate run there. Resolves with `problem` set when either cannot be read.
 */
export async function previewMachineSwitch(
  target: Target,
  toplevel: string,
  options: Pick<RemotePreviewOptions, 'generation' | 'elevate' | 'signal'> = {},
): Promise<RemotePreview> {
  const read = options.signal ? { signal: options.signal } : {};
  let running, next;
  try {
    [running, next] = await Promise.all([
      readRemoteSystem(target, read),
      readRemoteSystem(target, { ...read, systemPath: toplevel }),
    ]);
  } catch (error) {
    return { diff: null, problem: error instanceof Error ? error.message : String(error), copied: false };
  }
  const diff = await diffSystems(running, next, {
    generations: { from: null, to: options.generation ?? null },
    runDryActivate: true,
    target,
    elevate: options.elevate ?? [],
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { diff, problem: null, copied: true };
}
