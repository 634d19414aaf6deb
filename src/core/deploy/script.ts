/**
 * Multi-step privileged work (switch the profile, activate, restore on failure) runs as one small POSIX sh script,
 * so the user types the password once. The script text is constant: every value reaches it as a positional
 * parameter ("$1", "$2", ...) and is never interpolated into shell text.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ScriptFile {
  /** The script's path (mode 0700, in a private 0700 directory). */
  path: string;
  /** Removes the script and its directory. */
  dispose(): Promise<void>;
}

/** Writes a constant script to a fresh private temp directory. */
export async function writeScript(name: string, text: string, tmpdir = os.tmpdir()): Promise<ScriptFile> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`bad script name ${JSON.stringify(name)}`);
  const dir = await fsp.mkdtemp(path.join(tmpdir, 'nixos-generations-'));
  await fsp.chmod(dir, 0o700);
  const file = path.join(dir, name);
  await fsp.writeFile(file, text, { mode: 0o700 });
  await fsp.chmod(file, 0o700);
  return {
    path: file,
    dispose: () => fsp.rm(dir, { recursive: true, force: true }),
  };
}
