/**
 * The generation explorer's data layer (no editor, no shell). Cheap reads:
 * `defaultProfiles`, `readProfile`/`readProfiles`, `readRunState`, `rebootNeeded`. Costly, lazy and cached by
 * store path: `loadConfigurationRevisions`, `loadClosureSizes`. Watching: `profileWatchTarget`,
 * `runDirWatchTarget`. Output: `generationToJson`, `listingsToJson`. Between processes: `loadStoreCache(Sync)` and
 * `saveStoreCache(Sync)` keep what was learned of each store path in the user's cache directory.
 */
export type {
  Generation,
  GenerationKind,
  ProfileKind,
  ProfileListing,
  ProfileProblem,
  ProfileRef,
  RebootStatus,
  RevisionSource,
} from './types';
export {
  defaultProfiles,
  nixStateDir,
  profileExists,
  profileRefFor,
  profileWatchTarget,
  runDirWatchTarget,
  systemProfilePath,
  type WatchTarget,
} from './profiles';
export { readProfile, readProfiles, readRunState, rebootNeeded, type ReadOptions, type RunState } from './read';
export {
  applyClosureSizes,
  loadClosureSizes,
  loadConfigurationRevisions,
  parsePathInfoJson,
  type ClosureSizeOptions,
  type ClosureSizeResult,
  type RevisionOptions,
} from './lazy';
export {
  StoreMetaCache,
  defaultStoreCache,
  probeStorePath,
  storeId,
  type RevisionInfo,
  type StoreEntry,
  type StoreMeta,
  type StoreProbe,
} from './store-meta';
export {
  CACHE_FILE_NAME,
  MAX_AGE_DAYS,
  MAX_ENTRIES,
  isPersistableStorePath,
  keepStoreCache,
  loadStoreCache,
  loadStoreCacheSync,
  saveStoreCache,
  saveStoreCacheSync,
  storeCacheFile,
  type PersistentCache,
  type StoreCacheKeeper,
} from './store-cache-file';
export { asyncFs, blockingFs, type FsOps, type StatLite } from './fsutil';
export { generationToJson, listingsToJson, type GenerationJson } from './json';
export {
  isoSeconds,
  parseBootJson,
  parseBootLabel,
  parseGenerationLinkName,
  parseHmVersion,
  parseLabel,
  parseNixosVersionScript,
  parseOsRelease,
  sortByGeneration,
  type BootSpec,
  type LabelInfo,
} from './parse';
export { codenameForRelease } from './releases';
