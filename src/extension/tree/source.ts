import {
  defaultProfiles,
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

export type { ProfileListing, RebootStatus };

/** What the explorer asks of the core: one place, so the tree holds no file-system logic of its own. */
export class GenerationsSource {
  /** The configured profiles, or the defaults (system, user, home-manager ones that exist). */
  async profiles(configured: readonly string[]): Promise<ProfileRef[]> {
    if (configured.length > 0) return configured.map((p) => profileRefFor(p));
    return defaultProfiles(process.env);
  }

  readProfile(profile: ProfileRef, runDir: string): Promise<ProfileListing> {
    return readProfile(profile, { runDir });
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
  if (!status?.needed) return [];
  const words: Record<RebootStatus['differs'][number], string> = {
    kernel: 'the kernel',
    initrd: 'the initrd',
    'kernel-modules': 'the kernel modules',
  };
  return [
    `the booted system runs another ${status.differs
      .map((d) => words[d])
      .join(', ')
      .replace(/^the /, '')} than the activated one`,
  ];
}
