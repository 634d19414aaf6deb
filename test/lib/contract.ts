/**
 * The public command ids of the contract (design.md): other tools, keybindings and the docs rely on them, so a
 * rename must fail a test. The one list, read by the manifest test and the extension-host smoke test; everything
 * else about commands is derived from package.json.
 */
export const CONTRACT_COMMANDS = [
  'refresh',
  'rebuild',
  'switch',
  'rollback',
  'switchToGeneration',
  'pinLabel',
  'diffGenerations',
  'deleteGenerations',
  'safeSwitch',
  'checkoutGenerationCommit',
].map((c) => `nixosGenerations.${c}`);
