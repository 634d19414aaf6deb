/**
 * The rule database: NixOS and home-manager defaults that follow `stateVersion`.
 *
 * Paraphrased from the project's knowledge base (nixpkgs module text of several eras, release notes,
 * home-manager sources). Only entries that were verified in nixpkgs/home-manager sources are here;
 * entries the knowledge base marks unverified, partially verified or historic (gate gone from
 * current nixpkgs) are left out, so a diagnostic never rests on a guess. `scripts/regen-stateversion-table.mjs`
 * lists the gates of a nixpkgs checkout and reports the ones this table does not know.
 *
 * A gate's `chains` give, per nixpkgs era (the first release where that chain is in force), the
 * default as a function of stateVersion: the step with the greatest `from` not above stateVersion.
 */

export type GateClass = 'data' | 'behaviour' | 'cosmetic';
export type GateSeverity = 'critical' | 'high' | 'medium' | 'low';

export interface GateStep {
  /** Lowest stateVersion with this default ('' for "older than every threshold"). */
  from: string;
  /** The default, as a reader would say it. */
  value: string;
  /** A Nix expression that pins exactly this default (for the quick fix), when one exists. */
  fix?: string;
}

export interface GateChain {
  /** First nixpkgs release in which this chain applies. */
  era: string;
  steps: GateStep[];
}

/** When the gate matters for a configuration. */
export type GateCondition =
  /** `option = true` somewhere in the configuration. */
  | { kind: 'enabled'; option: string }
  /** `option.<name> = …` defined (an attribute set with at least one child). */
  | { kind: 'defined'; option: string }
  /** Always relevant (boot, networking): listed when stateVersion changes, never hinted at rest. */
  | { kind: 'always' };

export interface StateVersionGate {
  id: string;
  scope: 'nixos' | 'home-manager';
  /** The option (or behaviour) whose default follows stateVersion. */
  option: string;
  module: string;
  when: GateCondition;
  /** Options that, when set anywhere in the configuration, pin the behaviour. */
  pinnedBy: string[];
  /** The option the quick fix sets (absent: no quick fix, the message explains what to do). */
  fixOption?: string;
  chains: GateChain[];
  class: GateClass;
  severity: GateSeverity;
  /** What happens when the default flips under an existing installation. */
  impact: string;
  link?: string;
}

const PG_UPGRADE = 'https://nixos.org/manual/nixos/stable/#module-services-postgres-upgrading';

export const NIXOS_GATES: readonly StateVersionGate[] = [
  {
    id: 'postgresql.package',
    scope: 'nixos',
    option: 'services.postgresql.package',
    module: 'nixos/modules/services/databases/postgresql.nix',
    when: { kind: 'enabled', option: 'services.postgresql.enable' },
    pinnedBy: ['services.postgresql.package'],
    fixOption: 'services.postgresql.package',
    chains: [
      {
        era: '22.05',
        steps: [
          { from: '', value: 'postgresql_9_5', fix: 'pkgs.postgresql_9_5' },
          { from: '17.09', value: 'postgresql_9_6', fix: 'pkgs.postgresql_9_6' },
          { from: '20.03', value: 'postgresql_11', fix: 'pkgs.postgresql_11' },
          { from: '21.11', value: 'postgresql_13', fix: 'pkgs.postgresql_13' },
          { from: '22.05', value: 'postgresql_14', fix: 'pkgs.postgresql_14' },
        ],
      },
      {
        era: '23.11',
        steps: [
          { from: '', value: 'postgresql_9_5', fix: 'pkgs.postgresql_9_5' },
          { from: '17.09', value: 'postgresql_9_6', fix: 'pkgs.postgresql_9_6' },
          { from: '20.03', value: 'postgresql_11', fix: 'pkgs.postgresql_11' },
          { from: '21.11', value: 'postgresql_13', fix: 'pkgs.postgresql_13' },
          { from: '22.05', value: 'postgresql_14', fix: 'pkgs.postgresql_14' },
          { from: '23.11', value: 'postgresql_15', fix: 'pkgs.postgresql_15' },
        ],
      },
      {
        era: '24.11',
        steps: [
          { from: '', value: 'postgresql_9_5', fix: 'pkgs.postgresql_9_5' },
          { from: '17.09', value: 'postgresql_9_6', fix: 'pkgs.postgresql_9_6' },
          { from: '20.03', value: 'postgresql_11', fix: 'pkgs.postgresql_11' },
          { from: '21.11', value: 'postgresql_13', fix: 'pkgs.postgresql_13' },
          { from: '22.05', value: 'postgresql_14', fix: 'pkgs.postgresql_14' },
          { from: '23.11', value: 'postgresql_15', fix: 'pkgs.postgresql_15' },
          { from: '24.11', value: 'postgresql_16', fix: 'pkgs.postgresql_16' },
        ],
      },
      {
        era: '25.11',
        steps: [
          { from: '', value: 'postgresql_9_5', fix: 'pkgs.postgresql_9_5' },
          { from: '17.09', value: 'postgresql_9_6', fix: 'pkgs.postgresql_9_6' },
          { from: '20.03', value: 'postgresql_11', fix: 'pkgs.postgresql_11' },
          { from: '21.11', value: 'postgresql_13', fix: 'pkgs.postgresql_13' },
          { from: '22.05', value: 'postgresql_14', fix: 'pkgs.postgresql_14' },
          { from: '23.11', value: 'postgresql_15', fix: 'pkgs.postgresql_15' },
          { from: '24.11', value: 'postgresql_16', fix: 'pkgs.postgresql_16' },
          { from: '25.11', value: 'postgresql_17', fix: 'pkgs.postgresql_17' },
        ],
      },
      {
        era: '26.11',
        steps: [
          { from: '', value: 'postgresql_9_5', fix: 'pkgs.postgresql_9_5' },
          { from: '17.09', value: 'postgresql_9_6', fix: 'pkgs.postgresql_9_6' },
          { from: '20.03', value: 'postgresql_11', fix: 'pkgs.postgresql_11' },
          { from: '21.11', value: 'postgresql_13', fix: 'pkgs.postgresql_13' },
          { from: '22.05', value: 'postgresql_14', fix: 'pkgs.postgresql_14' },
          { from: '23.11', value: 'postgresql_15', fix: 'pkgs.postgresql_15' },
          { from: '24.11', value: 'postgresql_16', fix: 'pkgs.postgresql_16' },
          { from: '25.11', value: 'postgresql_17', fix: 'pkgs.postgresql_17' },
          { from: '26.11', value: 'postgresql_18', fix: 'pkgs.postgresql_18' },
        ],
      },
    ],
    class: 'data',
    severity: 'critical',
    impact:
      'the default data directory is /var/lib/postgresql/<major>, so a new major starts an empty cluster while the old data stays in the old directory; PostgreSQL needs pg_upgrade or a dump and restore',
    link: PG_UPGRADE,
  },
  {
    id: 'nextcloud.package',
    scope: 'nixos',
    option: 'services.nextcloud.package',
    module: 'nixos/modules/services/web-apps/nextcloud.nix',
    when: { kind: 'enabled', option: 'services.nextcloud.enable' },
    pinnedBy: ['services.nextcloud.package'],
    fixOption: 'services.nextcloud.package',
    chains: [
      {
        era: '24.05',
        steps: [
          { from: '', value: 'nextcloud25', fix: 'pkgs.nextcloud25' },
          { from: '23.05', value: 'nextcloud26', fix: 'pkgs.nextcloud26' },
          { from: '23.11', value: 'nextcloud27', fix: 'pkgs.nextcloud27' },
          { from: '24.05', value: 'nextcloud28', fix: 'pkgs.nextcloud28' },
        ],
      },
      {
        era: '24.11',
        steps: [
          { from: '', value: 'nextcloud27', fix: 'pkgs.nextcloud27' },
          { from: '24.05', value: 'nextcloud29', fix: 'pkgs.nextcloud29' },
          { from: '24.11', value: 'nextcloud30', fix: 'pkgs.nextcloud30' },
        ],
      },
      {
        era: '25.11',
        steps: [
          { from: '', value: 'nextcloud30', fix: 'pkgs.nextcloud30' },
          { from: '25.05', value: 'nextcloud31', fix: 'pkgs.nextcloud31' },
          { from: '25.11', value: 'nextcloud32', fix: 'pkgs.nextcloud32' },
        ],
      },
      {
        era: '26.05',
        steps: [
          { from: '', value: 'nextcloud31', fix: 'pkgs.nextcloud31' },
          { from: '25.11', value: 'nextcloud32', fix: 'pkgs.nextcloud32' },
          { from: '26.05', value: 'nextcloud33', fix: 'pkgs.nextcloud33' },
        ],
      },
      {
        era: '26.11',
        steps: [
          { from: '', value: 'nextcloud31', fix: 'pkgs.nextcloud31' },
          { from: '25.11', value: 'nextcloud32', fix: 'pkgs.nextcloud32' },
          { from: '26.05', value: 'nextcloud33', fix: 'pkgs.nextcloud33' },
          { from: '26.11', value: 'nextcloud34', fix: 'pkgs.nextcloud34' },
        ],
      },
    ],
    class: 'data',
    severity: 'critical',
    impact:
      'Nextcloud upgrades one major version at a time (nextcloud-setup runs the occ upgrade after each switch); skipping a major leaves a broken instance',
    link: 'https://nixos.org/manual/nixos/stable/#module-services-nextcloud',
  },
  {
    id: 'mysql.dataDir',
    scope: 'nixos',
    option: 'services.mysql.dataDir',
    module: 'nixos/modules/services/databases/mysql.nix',
    when: { kind: 'enabled', option: 'services.mysql.enable' },
    pinnedBy: ['services.mysql.dataDir'],
    fixOption: 'services.mysql.dataDir',
    chains: [
      {
        era: '17.09',
        steps: [
          { from: '', value: '/var/mysql', fix: '"/var/mysql"' },
          { from: '17.09', value: '/var/lib/mysql', fix: '"/var/lib/mysql"' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'MySQL/MariaDB looks for its databases in another directory and starts empty',
  },
  {
    id: 'netbox.package',
    scope: 'nixos',
    option: 'services.netbox.package',
    module: 'nixos/modules/services/web-apps/netbox.nix',
    when: { kind: 'enabled', option: 'services.netbox.enable' },
    pinnedBy: ['services.netbox.package'],
    fixOption: 'services.netbox.package',
    chains: [
      {
        era: '23.05',
        steps: [
          { from: '', value: 'netbox_3_3', fix: 'pkgs.netbox_3_3' },
          { from: '23.05', value: 'netbox (3.5)' },
        ],
      },
      {
        era: '25.11',
        steps: [
          { from: '', value: 'netbox_4_2', fix: 'pkgs.netbox_4_2' },
          { from: '25.11', value: 'netbox_4_4', fix: 'pkgs.netbox_4_4' },
        ],
      },
      {
        era: '26.05',
        steps: [
          { from: '', value: 'netbox_4_4', fix: 'pkgs.netbox_4_4' },
          { from: '26.05', value: 'netbox_4_5', fix: 'pkgs.netbox_4_5' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'NetBox migrates its database on start to the new major, one way',
  },
  {
    id: 'matrix-synapse.media_store_path',
    scope: 'nixos',
    option: 'services.matrix-synapse.settings.media_store_path',
    module: 'nixos/modules/services/matrix/synapse.nix',
    when: { kind: 'enabled', option: 'services.matrix-synapse.enable' },
    pinnedBy: ['services.matrix-synapse.settings.media_store_path', 'services.matrix-synapse.settings'],
    chains: [
      {
        era: '22.05',
        steps: [
          { from: '', value: '${dataDir}/media' },
          { from: '22.05', value: '${dataDir}/media_store' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'Synapse looks for uploaded media in another directory; existing media appear lost',
  },
  {
    id: 'matrix-synapse.database',
    scope: 'nixos',
    option: 'services.matrix-synapse.settings.database.name',
    module: 'nixos/modules/services/matrix/synapse.nix',
    when: { kind: 'enabled', option: 'services.matrix-synapse.enable' },
    pinnedBy: ['services.matrix-synapse.settings.database.name', 'services.matrix-synapse.settings.database'],
    fixOption: 'services.matrix-synapse.settings.database.name',
    chains: [
      {
        era: '18.03',
        steps: [
          { from: '', value: 'sqlite3', fix: '"sqlite3"' },
          { from: '18.03', value: 'psycopg2', fix: '"psycopg2"' },
        ],
      },
    ],
    class: 'data',
    severity: 'critical',
    impact: 'Synapse switches database engine and starts without its rooms and users',
  },
  {
    id: 'mattermost.configDir',
    scope: 'nixos',
    option: 'services.mattermost.configDir',
    module: 'nixos/modules/services/web-apps/mattermost.nix',
    when: { kind: 'enabled', option: 'services.mattermost.enable' },
    pinnedBy: ['services.mattermost.configDir'],
    chains: [
      {
        era: '25.05',
        steps: [
          { from: '', value: '${dataDir}/config' },
          { from: '25.05', value: '/etc/mattermost' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'Mattermost reads its configuration from another directory',
  },
  {
    id: 'mattermost.preferNixConfig',
    scope: 'nixos',
    option: 'services.mattermost.preferNixConfig',
    module: 'nixos/modules/services/web-apps/mattermost.nix',
    when: { kind: 'enabled', option: 'services.mattermost.mutableConfig' },
    pinnedBy: ['services.mattermost.preferNixConfig'],
    fixOption: 'services.mattermost.preferNixConfig',
    chains: [
      {
        era: '25.05',
        steps: [
          { from: '', value: 'false', fix: 'false' },
          { from: '25.05', value: 'true', fix: 'true' },
        ],
      },
    ],
    class: 'behaviour',
    severity: 'medium',
    impact: 'settings made in the Mattermost system console are overwritten by the Nix settings at each start',
  },
  {
    id: 'mattermost.peerAuth',
    scope: 'nixos',
    option: 'services.mattermost.database.peerAuth',
    module: 'nixos/modules/services/web-apps/mattermost.nix',
    when: { kind: 'enabled', option: 'services.mattermost.enable' },
    pinnedBy: ['services.mattermost.database.peerAuth'],
    fixOption: 'services.mattermost.database.peerAuth',
    chains: [
      {
        era: '25.05',
        steps: [
          { from: '', value: 'false', fix: 'false' },
          { from: '25.05', value: 'true when database.host is "localhost"' },
        ],
      },
    ],
    class: 'behaviour',
    severity: 'medium',
    impact:
      'Mattermost connects to a local database by peer authentication instead of a password; evaluation fails when the database user, name and service user differ',
  },
  {
    id: 'mattermost.logDir',
    scope: 'nixos',
    option: 'services.mattermost.logDir',
    module: 'nixos/modules/services/web-apps/mattermost.nix',
    when: { kind: 'enabled', option: 'services.mattermost.enable' },
    pinnedBy: ['services.mattermost.logDir'],
    chains: [
      {
        era: '25.05',
        steps: [
          { from: '', value: '${dataDir}/logs' },
          { from: '25.05', value: '/var/log/mattermost' },
        ],
      },
    ],
    class: 'cosmetic',
    severity: 'low',
    impact: 'Mattermost writes its logs to another directory; older logs stay where they were',
  },
  {
    id: 'pict-rs.package',
    scope: 'nixos',
    option: 'services.pict-rs.package',
    module: 'nixos/modules/services/web-apps/pict-rs.nix',
    when: { kind: 'enabled', option: 'services.pict-rs.enable' },
    pinnedBy: ['services.pict-rs.package'],
    chains: [
      {
        era: '23.11',
        steps: [
          { from: '', value: 'pict-rs_0_3 (removed since August 2024: evaluation error)' },
          { from: '23.11', value: 'pict-rs (0.4 or later)' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'pict-rs 0.4 migrates the 0.3 database schema on first start',
  },
  {
    id: 'tandoor-recipes.media',
    scope: 'nixos',
    option: 'services.tandoor-recipes MEDIA_ROOT',
    module: 'nixos/modules/services/misc/tandoor-recipes.nix',
    when: { kind: 'enabled', option: 'services.tandoor-recipes.enable' },
    pinnedBy: ['services.tandoor-recipes.extraConfig.MEDIA_ROOT'],
    chains: [
      {
        era: '26.05',
        steps: [
          { from: '', value: '/var/lib/tandoor-recipes' },
          { from: '26.05', value: '/var/lib/tandoor-recipes/media' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'uploaded recipe images are looked for in another directory',
  },
  {
    id: 'graylog.package',
    scope: 'nixos',
    option: 'services.graylog.package',
    module: 'nixos/modules/services/logging/graylog.nix',
    when: { kind: 'enabled', option: 'services.graylog.enable' },
    pinnedBy: ['services.graylog.package'],
    chains: [
      {
        era: '23.05',
        steps: [
          { from: '', value: 'graylog-3_3', fix: 'pkgs.graylog-3_3' },
          { from: '23.05', value: 'graylog-5_1', fix: 'pkgs.graylog-5_1' },
        ],
      },
      {
        era: '25.05',
        steps: [
          { from: '', value: 'graylog-3_3 (removed: evaluation error)' },
          { from: '23.05', value: 'graylog-5_1 (removed: evaluation error)' },
          { from: '25.05', value: 'graylog-6_0', fix: 'pkgs.graylog-6_0' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'Graylog and its Elasticsearch/OpenSearch indices change major version',
  },
  {
    id: 'gitlab.registry.package',
    scope: 'nixos',
    option: 'services.gitlab.registry.package',
    module: 'nixos/modules/services/misc/gitlab.nix',
    when: { kind: 'enabled', option: 'services.gitlab.registry.enable' },
    pinnedBy: ['services.gitlab.registry.package'],
    fixOption: 'services.gitlab.registry.package',
    chains: [
      {
        era: '23.11',
        steps: [
          { from: '', value: 'distribution (docker registry)', fix: 'pkgs.distribution' },
          { from: '23.11', value: 'gitlab-container-registry', fix: 'pkgs.gitlab-container-registry' },
        ],
      },
    ],
    class: 'behaviour',
    severity: 'medium',
    impact: 'the container registry of GitLab changes implementation',
  },
  {
    id: 'olivetin.package',
    scope: 'nixos',
    option: 'services.olivetin.package',
    module: 'nixos/modules/services/web-apps/olivetin.nix',
    when: { kind: 'enabled', option: 'services.olivetin.enable' },
    pinnedBy: ['services.olivetin.package'],
    fixOption: 'services.olivetin.package',
    chains: [
      {
        era: '26.05',
        steps: [
          { from: '', value: 'olivetin (2.x)', fix: 'pkgs.olivetin' },
          { from: '26.05', value: 'olivetin-3k', fix: 'pkgs.olivetin-3k' },
        ],
      },
    ],
    class: 'behaviour',
    severity: 'medium',
    impact: 'OliveTin changes major version and configuration format',
  },
  {
    id: 'seerr.configDir',
    scope: 'nixos',
    option: 'services.seerr.configDir',
    module: 'nixos/modules/services/misc/seerr.nix',
    when: { kind: 'enabled', option: 'services.seerr.enable' },
    // `useNewConfigLocation = cfg.stateRevision >= 1` with `utils.mkStateRevisionOption { migrations."26.05" = …; }`:
    // the stateRevision option pins it as well as configDir does
    pinnedBy: ['services.seerr.configDir', 'services.seerr.stateRevision'],
    fixOption: 'services.seerr.configDir',
    chains: [
      {
        era: '26.05',
        steps: [
          { from: '', value: '/var/lib/jellyseerr/config', fix: '"/var/lib/jellyseerr/config"' },
          { from: '26.05', value: '/var/lib/seerr/', fix: '"/var/lib/seerr/"' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'Seerr starts with an empty configuration directory',
  },
  {
    id: 'sabnzbd.configFile',
    scope: 'nixos',
    option: 'services.sabnzbd.configFile',
    module: 'nixos/modules/services/networking/sabnzbd.nix',
    when: { kind: 'enabled', option: 'services.sabnzbd.enable' },
    pinnedBy: ['services.sabnzbd.configFile'],
    fixOption: 'services.sabnzbd.configFile',
    chains: [
      {
        era: '26.05',
        steps: [
          { from: '', value: '/var/lib/sabnzbd/sabnzbd.ini (mutable)', fix: '"/var/lib/sabnzbd/sabnzbd.ini"' },
          { from: '26.05', value: 'null (generated from services.sabnzbd.settings, read-only)', fix: 'null' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'SABnzbd stops reading the ini file edited through its web interface',
  },
  {
    id: 'sabnzbd.allowConfigWrite',
    scope: 'nixos',
    option: 'services.sabnzbd.allowConfigWrite',
    module: 'nixos/modules/services/networking/sabnzbd.nix',
    when: { kind: 'enabled', option: 'services.sabnzbd.enable' },
    pinnedBy: ['services.sabnzbd.allowConfigWrite'],
    fixOption: 'services.sabnzbd.allowConfigWrite',
    chains: [
      {
        era: '26.05',
        steps: [
          { from: '', value: 'true', fix: 'true' },
          { from: '26.05', value: 'false (the generated configuration is read-only)', fix: 'false' },
        ],
      },
    ],
    class: 'behaviour',
    severity: 'medium',
    impact: 'changes made in the SABnzbd web interface are no longer kept',
  },
  {
    id: 'sickgear.dataDir',
    scope: 'nixos',
    option: 'services.sickgear.dataDir and user',
    module: 'nixos/modules/services/misc/sickgear.nix',
    when: { kind: 'enabled', option: 'services.sickgear.enable' },
    pinnedBy: ['services.sickgear.dataDir'],
    fixOption: 'services.sickgear.dataDir',
    chains: [
      {
        era: '25.11',
        steps: [
          { from: '', value: '/var/lib/sickbeard (user sickbeard)', fix: '"/var/lib/sickbeard"' },
          { from: '25.11', value: '/var/lib/sickgear (user sickgear)', fix: '"/var/lib/sickgear"' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'SickGear starts with an empty data directory under another user; shows and history appear lost',
  },
  {
    id: 'zfs.forceImportRoot',
    scope: 'nixos',
    option: 'boot.zfs.forceImportRoot',
    // `default = lib.versionOlder config.system.stateVersion "26.11"`
    module: 'nixos/modules/tasks/filesystems/zfs.nix',
    when: { kind: 'always' },
    pinnedBy: ['boot.zfs.forceImportRoot'],
    fixOption: 'boot.zfs.forceImportRoot',
    chains: [
      {
        era: '26.11',
        steps: [
          { from: '', value: 'true', fix: 'true' },
          { from: '26.11', value: 'false', fix: 'false' },
        ],
      },
    ],
    class: 'behaviour',
    severity: 'high',
    impact:
      'a root pool that was not cleanly exported (disks moved, hostId changed) is no longer imported: boot stops in the initrd until zfs_force=1',
  },
  {
    id: 'lauti.dataDir',
    scope: 'nixos',
    option: 'services.lauti.dataDir',
    module: 'nixos/modules/services/web-apps/lauti.nix',
    when: { kind: 'enabled', option: 'services.lauti.enable' },
    pinnedBy: ['services.lauti.dataDir'],
    chains: [
      {
        era: '26.05',
        steps: [
          { from: '', value: '/var/lib/eintopf' },
          { from: '26.05', value: '/var/lib/lauti' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'lauti (formerly eintopf) starts with an empty state directory',
  },
  {
    id: 'suwayomi-server.layout',
    scope: 'nixos',
    option: 'services.suwayomi-server data layout',
    module: 'nixos/modules/services/web-apps/suwayomi-server.nix',
    when: { kind: 'enabled', option: 'services.suwayomi-server.enable' },
    pinnedBy: [],
    chains: [
      {
        era: '26.11',
        steps: [
          { from: '', value: '${dataDir}/.local/share/Tachidesk' },
          { from: '26.11', value: '${dataDir} (server.conf in dataDir)' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'Suwayomi looks for its library in another directory',
  },
  {
    id: 'nexus.package',
    scope: 'nixos',
    option: 'services.nexus.package',
    module: 'nixos/modules/services/web-apps/nexus.nix',
    when: { kind: 'enabled', option: 'services.nexus.enable' },
    pinnedBy: ['services.nexus.package'],
    fixOption: 'services.nexus.package',
    chains: [
      {
        era: '26.11',
        steps: [
          { from: '', value: 'nexus', fix: 'pkgs.nexus' },
          { from: '26.11', value: 'nexus_3', fix: 'pkgs.nexus_3' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'Nexus moves to a new major line with its own data migration',
  },
  {
    id: 'dovecot2.package',
    scope: 'nixos',
    option: 'services.dovecot2.package',
    module: 'nixos/modules/services/mail/dovecot.nix',
    when: { kind: 'enabled', option: 'services.dovecot2.enable' },
    pinnedBy: ['services.dovecot2.package'],
    fixOption: 'services.dovecot2.package',
    chains: [
      {
        era: '26.05',
        steps: [
          { from: '', value: 'dovecot_2_3', fix: 'pkgs.dovecot_2_3' },
          { from: '26.05', value: 'dovecot (2.4)', fix: 'pkgs.dovecot' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact:
      'Dovecot 2.4 has an incompatible configuration and a new storage version (see the 2.3 to 2.4 upgrade guide)',
  },
  {
    id: 'stalwart.storage',
    scope: 'nixos',
    option: 'services.stalwart-mail storage',
    module: 'nixos/modules/services/mail/stalwart-mail.nix',
    when: { kind: 'enabled', option: 'services.stalwart-mail.enable' },
    pinnedBy: ['services.stalwart-mail.settings.store', 'services.stalwart-mail.settings.storage'],
    chains: [
      {
        era: '24.11',
        steps: [
          { from: '', value: 'SQLite index and blobs under <dataDir>/data' },
          { from: '24.11', value: 'RocksDB at <dataDir>/db' },
        ],
      },
    ],
    class: 'data',
    severity: 'critical',
    impact: 'Stalwart opens an empty store: mailboxes appear lost',
  },
  {
    // The same storage gate after services.stalwart-mail was renamed services.stalwart (stalwart.nix keeps
    // `useLegacyStorage = versionOlder stateVersion "24.11"`); a configuration may use either name.
    id: 'stalwart.storage.renamed',
    scope: 'nixos',
    option: 'services.stalwart storage',
    module: 'nixos/modules/services/mail/stalwart.nix',
    when: { kind: 'enabled', option: 'services.stalwart.enable' },
    pinnedBy: ['services.stalwart.settings.store', 'services.stalwart.settings.storage'],
    chains: [
      {
        // the rename is a 26.05 change (release notes 26.05), not 25.11
        era: '26.05',
        steps: [
          { from: '', value: 'SQLite index and blobs under <dataDir>/data' },
          { from: '24.11', value: 'RocksDB at <dataDir>/db' },
        ],
      },
    ],
    class: 'data',
    severity: 'critical',
    impact: 'Stalwart opens an empty store: mailboxes appear lost',
  },
  {
    id: 'stalwart.identity',
    scope: 'nixos',
    option: 'services.stalwart user, group and dataDir',
    module: 'nixos/modules/services/mail/stalwart.nix',
    when: { kind: 'enabled', option: 'services.stalwart.enable' },
    pinnedBy: ['services.stalwart.dataDir'],
    chains: [
      {
        era: '26.05',
        steps: [
          { from: '', value: "'stalwart-mail' (/var/lib/stalwart-mail)" },
          { from: '26.05', value: "'stalwart' (/var/lib/stalwart)" },
        ],
      },
    ],
    class: 'data',
    severity: 'critical',
    impact: 'Stalwart runs as another user with another state directory: mailboxes appear lost',
  },
  {
    id: 'syncthing.configDir',
    scope: 'nixos',
    option: 'services.syncthing.configDir',
    module: 'nixos/modules/services/networking/syncthing.nix',
    when: { kind: 'enabled', option: 'services.syncthing.enable' },
    pinnedBy: ['services.syncthing.configDir'],
    chains: [
      {
        era: '19.03',
        steps: [
          { from: '', value: '${dataDir}' },
          { from: '19.03', value: '${dataDir}/.config/syncthing' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'Syncthing starts with a new identity (device ID) and no folders',
  },
  {
    id: 'kubo.dataDir',
    scope: 'nixos',
    option: 'services.kubo.dataDir',
    module: 'nixos/modules/services/network-filesystems/kubo.nix',
    when: { kind: 'enabled', option: 'services.kubo.enable' },
    pinnedBy: ['services.kubo.dataDir'],
    fixOption: 'services.kubo.dataDir',
    chains: [
      {
        era: '17.09',
        steps: [
          { from: '', value: '/var/lib/ipfs/.ipfs', fix: '"/var/lib/ipfs/.ipfs"' },
          { from: '17.09', value: '/var/lib/ipfs', fix: '"/var/lib/ipfs"' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'the IPFS node starts with an empty repository',
  },
  {
    id: 'vaultwarden.stateDirectory',
    scope: 'nixos',
    option: 'services.vaultwarden data directory',
    module: 'nixos/modules/services/security/vaultwarden/default.nix',
    when: { kind: 'enabled', option: 'services.vaultwarden.enable' },
    pinnedBy: [],
    chains: [
      {
        era: '24.11',
        steps: [
          { from: '', value: '/var/lib/bitwarden_rs' },
          { from: '24.11', value: '/var/lib/vaultwarden' },
        ],
      },
    ],
    class: 'data',
    severity: 'critical',
    impact:
      'Vaultwarden starts on an empty data directory: the password vaults appear lost until the directory is moved',
  },
  {
    id: 'transmission.package',
    scope: 'nixos',
    option: 'services.transmission.package',
    module: 'nixos/modules/services/torrent/transmission.nix',
    when: { kind: 'enabled', option: 'services.transmission.enable' },
    pinnedBy: ['services.transmission.package'],
    chains: [
      {
        era: '25.11',
        steps: [
          { from: '', value: 'transmission_3 (removed: evaluation error, set the package explicitly)' },
          { from: '25.11', value: 'transmission_4', fix: 'pkgs.transmission_4' },
        ],
      },
    ],
    class: 'data',
    severity: 'medium',
    impact: 'Transmission 4 converts its resume files; going back to 3 loses them',
  },
  {
    id: 'deluge.package',
    scope: 'nixos',
    option: 'services.deluge.package',
    module: 'nixos/modules/services/torrent/deluge.nix',
    when: { kind: 'enabled', option: 'services.deluge.enable' },
    pinnedBy: ['services.deluge.package'],
    chains: [
      {
        era: '20.09',
        steps: [
          { from: '', value: 'deluge-1_x (no longer packaged: evaluation error)' },
          { from: '20.09', value: 'deluge-2_x', fix: 'pkgs.deluge-2_x' },
        ],
      },
    ],
    class: 'data',
    severity: 'medium',
    impact: 'Deluge 2 reads the 1.x state once and cannot go back',
  },
  {
    id: 'oci-containers.backend',
    scope: 'nixos',
    option: 'virtualisation.oci-containers.backend',
    module: 'nixos/modules/virtualisation/oci-containers.nix',
    when: { kind: 'defined', option: 'virtualisation.oci-containers.containers' },
    pinnedBy: ['virtualisation.oci-containers.backend'],
    fixOption: 'virtualisation.oci-containers.backend',
    chains: [
      {
        era: '22.05',
        steps: [
          { from: '', value: 'docker', fix: '"docker"' },
          { from: '22.05', value: 'podman', fix: '"podman"' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'containers are run by another engine: their images, volumes and state are not there',
  },
  {
    id: 'nixos-containers.paths',
    scope: 'nixos',
    option: 'containers.<name> state directories',
    module: 'nixos/modules/virtualisation/nixos-containers.nix',
    when: { kind: 'defined', option: 'containers' },
    pinnedBy: [],
    chains: [
      {
        era: '22.05',
        steps: [
          { from: '', value: '/etc/containers, /var/lib/containers' },
          { from: '22.05', value: '/etc/nixos-containers, /var/lib/nixos-containers' },
        ],
      },
    ],
    class: 'data',
    severity: 'critical',
    impact: 'declarative NixOS containers start from empty root directories',
  },
  {
    id: 'docker.live-restore',
    scope: 'nixos',
    option: 'virtualisation.docker.daemon.settings.live-restore',
    module: 'nixos/modules/virtualisation/docker.nix',
    when: { kind: 'enabled', option: 'virtualisation.docker.enable' },
    pinnedBy: ['virtualisation.docker.daemon.settings.live-restore', 'virtualisation.docker.daemon.settings'],
    fixOption: 'virtualisation.docker.daemon.settings.live-restore',
    chains: [
      {
        era: '24.11',
        steps: [
          { from: '', value: 'true', fix: 'true' },
          { from: '24.11', value: 'false', fix: 'false' },
        ],
      },
    ],
    class: 'behaviour',
    severity: 'low',
    impact: 'containers stop when the Docker daemon restarts',
  },
  {
    id: 'unifi.packages',
    scope: 'nixos',
    option: 'services.unifi.unifiPackage / mongodbPackage',
    module: 'nixos/modules/services/networking/unifi.nix',
    when: { kind: 'enabled', option: 'services.unifi.enable' },
    pinnedBy: ['services.unifi.unifiPackage'],
    chains: [
      {
        era: '24.11',
        steps: [
          { from: '', value: 'must be set explicitly (assertion)' },
          { from: '24.11', value: 'module defaults for unifi and mongodb' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'the MongoDB under UniFi may change major version, which needs one-major-at-a-time upgrades',
  },
  {
    id: 'boot.swraid.enable',
    scope: 'nixos',
    option: 'boot.swraid.enable',
    module: 'nixos/modules/tasks/swraid.nix',
    when: { kind: 'always' },
    pinnedBy: ['boot.swraid.enable', 'boot.swraid'],
    fixOption: 'boot.swraid.enable',
    chains: [
      {
        era: '23.11',
        steps: [
          { from: '', value: 'true (mdadm in the initrd)', fix: 'true' },
          { from: '23.11', value: 'false', fix: 'false' },
        ],
      },
    ],
    class: 'behaviour',
    severity: 'critical',
    impact: 'machines on software RAID (mdadm) no longer assemble it in the initrd and may not boot',
  },
  {
    id: 'nftables.flushRuleset',
    scope: 'nixos',
    option: 'networking.nftables.flushRuleset',
    module: 'nixos/modules/services/networking/nftables.nix',
    when: { kind: 'enabled', option: 'networking.nftables.enable' },
    pinnedBy: ['networking.nftables.flushRuleset'],
    fixOption: 'networking.nftables.flushRuleset',
    chains: [
      {
        era: '23.11',
        steps: [
          { from: '', value: 'true', fix: 'true' },
          { from: '23.11', value: 'true only when a ruleset is set' },
        ],
      },
    ],
    class: 'behaviour',
    severity: 'medium',
    impact: 'rules added by other tools are no longer flushed',
  },
  {
    id: 'anki-sync-server.hashedPasswords',
    scope: 'nixos',
    option: 'services.anki-sync-server.hashedPasswords',
    module: 'nixos/modules/services/misc/anki-sync-server.nix',
    when: { kind: 'enabled', option: 'services.anki-sync-server.enable' },
    pinnedBy: ['services.anki-sync-server.hashedPasswords'],
    fixOption: 'services.anki-sync-server.hashedPasswords',
    chains: [
      {
        era: '26.11',
        steps: [
          { from: '', value: 'false', fix: 'false' },
          { from: '26.11', value: 'true (passwords must be PBKDF2 hashes)', fix: 'true' },
        ],
      },
    ],
    class: 'behaviour',
    severity: 'high',
    impact: 'plain-text passwords stop working and users cannot sync',
  },
  {
    id: 'mautrix-telegram.package',
    scope: 'nixos',
    option: 'services.mautrix-telegram.package',
    module: 'nixos/modules/services/matrix/mautrix-telegram.nix',
    when: { kind: 'enabled', option: 'services.mautrix-telegram.enable' },
    pinnedBy: ['services.mautrix-telegram.package'],
    fixOption: 'services.mautrix-telegram.package',
    chains: [
      {
        era: '26.05',
        steps: [
          { from: '', value: 'mautrix-telegram (Python)', fix: 'pkgs.mautrix-telegram' },
          { from: '26.05', value: 'mautrix-telegram-go', fix: 'pkgs.mautrix-telegram-go' },
        ],
      },
    ],
    class: 'data',
    severity: 'high',
    impact: 'the bridge is replaced by its Go rewrite, which migrates the bridge database',
  },
  {
    id: 'akkoma.upload-base-url',
    scope: 'nixos',
    option: 'services.akkoma Pleroma.Upload base_url',
    module: 'nixos/modules/services/web-apps/akkoma.nix',
    when: { kind: 'enabled', option: 'services.akkoma.enable' },
    pinnedBy: [],
    chains: [
      {
        era: '24.05',
        steps: [
          { from: '', value: '<scheme>://<host>:<port>/media/' },
          { from: '24.05', value: 'null (upstream default)' },
        ],
      },
    ],
    class: 'behaviour',
    severity: 'medium',
    impact: 'links to uploaded media change',
  },
  {
    id: 'octoprint.enableRaspberryPi',
    scope: 'nixos',
    option: 'services.octoprint.enableRaspberryPi',
    module: 'nixos/modules/services/misc/octoprint.nix',
    when: { kind: 'enabled', option: 'services.octoprint.enable' },
    pinnedBy: ['services.octoprint.enableRaspberryPi'],
    fixOption: 'services.octoprint.enableRaspberryPi',
    chains: [
      {
        era: '25.05',
        steps: [
          { from: '', value: 'true', fix: 'true' },
          { from: '25.05', value: 'false', fix: 'false' },
        ],
      },
    ],
    class: 'behaviour',
    severity: 'low',
    impact: 'Raspberry Pi support in OctoPrint is switched off',
  },
  {
    id: 'firefox-syncserver.database.type',
    scope: 'nixos',
    option: 'services.firefox-syncserver.database.type',
    module: 'nixos/modules/services/networking/firefox-syncserver.nix',
    when: { kind: 'enabled', option: 'services.firefox-syncserver.enable' },
    pinnedBy: ['services.firefox-syncserver.database.type'],
    fixOption: 'services.firefox-syncserver.database.type',
    chains: [
      {
        // `if compareVersions config.system.stateVersion "26.05" < 0 then "mysql" else …`: threshold 26.05, but
        // the change ships with nixpkgs 26.11 (release notes 26.11)
        era: '26.11',
        steps: [
          { from: '', value: 'mysql', fix: '"mysql"' },
          { from: '26.05', value: 'no default: must be set ("mysql" or "pgsql")' },
        ],
      },
    ],
    class: 'behaviour',
    severity: 'medium',
    impact: 'evaluation fails until services.firefox-syncserver.database.type is set; existing data stays in MySQL',
  },
  {
    id: 'xterm.enable',
    scope: 'nixos',
    option: 'services.xserver.desktopManager.xterm.enable',
    module: 'nixos/modules/services/x11/desktop-managers/xterm.nix',
    when: { kind: 'enabled', option: 'services.xserver.enable' },
    pinnedBy: ['services.xserver.desktopManager.xterm.enable'],
    chains: [
      {
        era: '19.09',
        steps: [
          { from: '', value: 'services.xserver.enable' },
          { from: '19.09', value: 'false' },
        ],
      },
    ],
    class: 'cosmetic',
    severity: 'low',
    impact: 'the xterm session disappears from the display manager',
  },
];

/** home-manager defaults that follow `home.stateVersion` (data-bearing ones and those users meet most). */
export const HOME_MANAGER_GATES: readonly StateVersionGate[] = [
  hm('firefox.configPath', 'programs.firefox.configPath (Linux)', 'programs.firefox.enable', '26.05', {
    below: { value: '.mozilla/firefox', fix: '".mozilla/firefox"' },
    above: { value: '${config.xdg.configHome}/mozilla/firefox' },
    fixOption: 'programs.firefox.configPath',
    cls: 'data',
    severity: 'critical',
    impact: 'Firefox opens a new empty profile: bookmarks, passwords and extensions appear lost',
  }),
  hm('password-store.settings', 'programs.password-store.settings', 'programs.password-store.enable', '25.11', {
    below: { value: 'PASSWORD_STORE_DIR set to ~/.local/share/password-store' },
    above: { value: 'PASSWORD_STORE_DIR not set (pass uses ~/.password-store)' },
    cls: 'data',
    severity: 'critical',
    impact: 'pass looks for the store in another directory',
  }),
  hm('zsh.dotDir', 'programs.zsh.dotDir', 'programs.zsh.enable', '26.05', {
    below: { value: 'the home directory' },
    above: { value: '${config.xdg.configHome}/zsh (with xdg.enable)' },
    cls: 'data',
    severity: 'medium',
    impact: 'zsh files and ZDOTDIR move, history and plugins relying on it too',
  }),
  hm('docker-cli.configDir', 'programs.docker-cli.configDir', 'programs.docker-cli.enable', '26.05', {
    below: { value: '.docker', fix: '".docker"' },
    above: { value: '${config.xdg.configHome}/docker (with xdg.enable)' },
    fixOption: 'programs.docker-cli.configDir',
    cls: 'data',
    severity: 'medium',
    impact: 'registry logins and contexts in ~/.docker are no longer seen',
  }),
  hm('colima.colimaHomeDir', 'services.colima.colimaHomeDir', 'services.colima.enable', '26.05', {
    below: { value: '.colima', fix: '".colima"' },
    above: { value: '${config.xdg.configHome}/colima (with xdg.enable)' },
    fixOption: 'services.colima.colimaHomeDir',
    cls: 'data',
    severity: 'high',
    impact: 'existing Colima machines and their containers are not found',
  }),
  hm('neovim.withPython3', 'programs.neovim.withPython3', 'programs.neovim.enable', '26.05', {
    below: { value: 'true', fix: 'true' },
    above: { value: 'false', fix: 'false' },
    fixOption: 'programs.neovim.withPython3',
    cls: 'behaviour',
    severity: 'medium',
    impact: 'Python plugins of Neovim stop working',
  }),
  hm(
    'hyprland.configType',
    'wayland.windowManager.hyprland.configType',
    'wayland.windowManager.hyprland.enable',
    '26.05',
    {
      below: { value: 'hyprlang' },
      above: { value: 'the new configuration format' },
      cls: 'behaviour',
      severity: 'high',
      impact: 'the generated Hyprland configuration changes format',
    },
  ),
  hm('git.signing.format', 'programs.git.signing.format', 'programs.git.signing', '25.05', {
    below: { value: 'openpgp', fix: '"openpgp"' },
    above: { value: 'null (git decides)', fix: 'null' },
    fixOption: 'programs.git.signing.format',
    cls: 'behaviour',
    severity: 'medium',
    impact: 'commit signing may stop using GnuPG',
  }),
  hm('mpd.musicDirectory', 'services.mpd.musicDirectory', 'services.mpd.enable', '22.11', {
    below: { value: '$HOME/music' },
    above: { value: 'the XDG music directory' },
    cls: 'data',
    severity: 'medium',
    impact: 'MPD scans another directory and its database empties',
  }),
  hm('swaylock.enable', 'programs.swaylock.enable', 'programs.swaylock.settings', '23.05', {
    below: { value: 'true when settings are given' },
    above: { value: 'false' },
    cls: 'behaviour',
    severity: 'medium',
    impact: 'the screen locker configuration is no longer installed',
  }),
];

function hm(
  id: string,
  option: string,
  enable: string,
  threshold: string,
  d: {
    below: { value: string; fix?: string };
    above: { value: string; fix?: string };
    fixOption?: string;
    cls: GateClass;
    severity: GateSeverity;
    impact: string;
  },
): StateVersionGate {
  return {
    id: `hm.${id}`,
    scope: 'home-manager',
    option,
    module: 'home-manager',
    when: enable.endsWith('.enable') ? { kind: 'enabled', option: enable } : { kind: 'defined', option: enable },
    pinnedBy: [option.split(' ')[0]!],
    ...(d.fixOption ? { fixOption: d.fixOption } : {}),
    chains: [
      {
        era: threshold,
        steps: [
          { from: '', ...d.below },
          { from: threshold, ...d.above },
        ],
      },
    ],
    class: d.cls,
    severity: d.severity,
    impact: d.impact,
  };
}

/**
 * Package attributes removed from nixpkgs, with a release that certainly no longer has them. Only removals
 * the knowledge base verified are used, and where it gives only an approximate release the first release
 * verified to lack the package is used instead (so a "removed" warning is never early; it may be late).
 */
export const REMOVED_PACKAGES: Readonly<Record<string, string>> = {
  // The 23.11 and 24.11 modules already read `else if versionAtLeast config.system.stateVersion "20.03" then
  // mkThrow "11"` (and `mkThrow "9_6"`, `mkThrow "9_5"`): no working default there any more.
  postgresql_9_5: '23.11',
  postgresql_9_6: '23.11',
  postgresql_11: '23.11',
  // 25.11 ships PostgreSQL 14-18 (13 dropped on 2025-11-17, before the release).
  postgresql_12: '25.11',
  postgresql_13: '25.11',
  // 25.11 keeps nextcloud31 and nextcloud32 only; 26.05 turns nextcloud31 into a removal error.
  nextcloud25: '25.11',
  nextcloud26: '25.11',
  nextcloud27: '25.11',
  nextcloud28: '25.11',
  nextcloud29: '25.11',
  nextcloud30: '25.11',
  nextcloud31: '26.05',
  // The 25.05 module makes both older branches evaluation errors.
  'graylog-3_3': '25.05',
  'graylog-5_1': '25.05',
};
