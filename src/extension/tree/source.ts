import {
  defaultProfiles,
  defaultStoreCache,
  keepStoreCache,
  loadClosureSizes,
  loadConfigurationRevisions,
  profileRefFor,
  readProfile,
  rebootNeeded,
  type Generation,
  type ProfileListing,
  type ProfileRef,
  type RebootStatus,
} from '../../core/generations';
import { describeReboot } from '../../core/format';

export type { ProfileListing, RebootStatus };

/** What the explorer asks of the core: one place, so the tree holds no file-system logic of its own. */
export class GenerationsSource {
  /**
   * What was read of each store path (immutable) is kept in the user's cache directory between sessions, so a
   * later start only reads the links and checks that each store path still exists.
   */
  private readonly storeCache = keepStoreCache(defaultStoreCache, process.env);

  /** The configured profiles, or the defaults (system, user, home-manager ones that exist). */
  async profiles(configured: readonly string[]): Promise<ProfileRef[]> {
    if (configured.length > 0) return configured.map((p) => profileRefFor(p));
    return defaultProfiles(process.env);
  }

  async readProfile(profile: ProfileRef, runDir: string): Promise<ProfileListing> {
    await this.storeCache.ready.catch(() => undefined);
    return readProfile(profile, { runDir });
  }

  /** Writes what was learned to the cache file, then stops. */
  dispose(): void {
    void this.storeCache.flush().finally(() => this.storeCache.dispose());
  }

  rebootStatus(runDir: string): Promise<RebootStatus> {
    return rebootNeeded(runDir);
  }

  async closureSizes(storePaths: readonly string[]): Promise<ReadonlyMap<string, number>> {
    const result = await loadClosureSizes(storePaths);
    if (result.errors.length > 0 && result.sizes.size === 0) throw new Error(result.errors.join('; '));
    return result.sizes;
  }

  /** The configurationRevision of one generation (runs its nixos-version only when its files do not tell). */
  async configurationRevision(generation: Generation): Promise<string | null> {
    const copy = { ...generation };
    await loadConfigurationRevisions([copy]);
    return copy.configurationRevision;
  }
}

/** Human words for what differs between the booted and the activated system. */
export function rebootReasons(status: RebootStatus | undefined): string[] {
  const text = status ? describeReboot(status) : null;
  return text ? [text] : [];
}
