/**
 * What a script on another machine reported about some of its paths, served as a read-only file system (`FsOps`),
 * so that the readers written for this machine (`readProfile`, `probeStorePath`, `rebootNeeded`,
 * `loadConfigurationRevisions`) read a remote machine through the same code. Paths never reported do not exist.
 * A path below a reported symlink resolves through it (`/run/current-system/kernel` reads `<system>/kernel`), as
 * the kernel would.
 */
import * as path from 'node:path';
import { absoluteTarget, type FsOps, type StatLite } from '../generations/fsutil';

export interface SnapshotRecord {
  /** stat (body: `l|d|f MTIME_S INODE SIZE`), link (body: the target), dir (body: entries, one a line), file. */
  kind: string;
  /** Absolute path on the other machine. */
  name: string;
  body: string;
}

const enoent = (p: string): Error =>
  Object.assign(new Error(`ENOENT: no such file or directory, lstat '${p}'`), { code: 'ENOENT' });

export class PathSnapshot implements FsOps {
  private readonly stats = new Map<string, StatLite>();
  private readonly links = new Map<string, string>();
  private readonly dirs = new Map<string, string[]>();
  private readonly files = new Map<string, string>();

  constructor(records: Iterable<SnapshotRecord>) {
    for (const r of records) {
      if (!path.isAbsolute(r.name)) continue;
      const name = path.normalize(r.name);
      if (r.kind === 'stat') {
        const [type = '', mtime = '0', ino = '0', size = '0'] = r.body.trim().split(/\s+/);
        const symlink = type === 'l';
        this.stats.set(name, {
          mtimeMs: Number(mtime) * 1000 || 0,
          ctimeMs: Number(mtime) * 1000 || 0,
          ino: Number(ino) || 0,
          size: Number(size) || 0,
          isSymbolicLink: () => symlink,
        });
      } else if (r.kind === 'link') this.links.set(name, r.body);
      else if (r.kind === 'dir')
        this.dirs.set(
          name,
          r.body.split('\n').filter((e) => e !== ''),
        );
      else if (r.kind === 'file') this.files.set(name, r.body);
    }
    // a reported link or file exists even when its stat line was not sent
    for (const name of this.links.keys()) if (!this.stats.has(name)) this.stats.set(name, stat(true));
    for (const name of [...this.files.keys(), ...this.dirs.keys()]) {
      if (!this.stats.has(name)) this.stats.set(name, stat(false));
    }
  }

  /** The path with every symlink among its parents replaced by its target (at most 16 replacements). */
  resolveParents(p: string): string {
    let parts = path
      .normalize(p)
      .split('/')
      .filter((x) => x !== '');
    let hops = 0;
    for (let i = 0; i < parts.length - 1; i++) {
      const prefix = `/${parts.slice(0, i + 1).join('/')}`;
      const target = this.links.get(prefix);
      if (target === undefined) continue;
      if (++hops > 16) break;
      const resolved = absoluteTarget(prefix, target);
      parts = [...resolved.split('/').filter((x) => x !== ''), ...parts.slice(i + 1)];
      i = -1;
    }
    return `/${parts.join('/')}`;
  }

  async lstat(p: string): Promise<StatLite> {
    const s = this.stats.get(this.resolveParents(p));
    if (s === undefined) throw enoent(p);
    return s;
  }
  async lstatIfExists(p: string): Promise<StatLite | null> {
    return this.stats.get(this.resolveParents(p)) ?? null;
  }
  async readlink(p: string): Promise<string> {
    const t = this.links.get(this.resolveParents(p));
    if (t === undefined) throw enoent(p);
    return t;
  }
  async readdir(p: string): Promise<string[]> {
    const d = this.dirs.get(this.resolveParents(p));
    if (d === undefined) throw enoent(p);
    return [...d];
  }
  async readSmall(p: string, max: number): Promise<string | null> {
    const text = this.files.get(this.resolveParents(p));
    if (text === undefined) return null;
    const bytes = Buffer.from(text, 'utf8');
    return bytes.length <= max ? text : bytes.toString('utf8', 0, max);
  }
}

function stat(symlink: boolean): StatLite {
  return { mtimeMs: 0, ctimeMs: 0, ino: 0, size: 0, isSymbolicLink: () => symlink };
}
