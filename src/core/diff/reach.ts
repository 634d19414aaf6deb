/**
 * Changes that cut you off: how a machine is reached before and after a switch, read from the two toplevels' `etc`
 * trees with no evaluation. The files are the ones NixOS generates (nixpkgs' attribute names; no nixpkgs is
 * reachable here, so the shapes below are written from its modules, not copied from a build):
 *   - systemd-networkd units `etc/systemd/network/*.network|.netdev|.link` (`[Match] Name=`, `Address=`,
 *     `Gateway=`, `DHCP=`, `[Route]`, `[Link] Name=`);
 *   - scripted networking: `network-addresses-<if>.service` and `network-setup.service`, whose ExecStart scripts
 *     run `ip addr add A dev IF` / `ip route add … via G`;
 *   - `etc/hosts`;
 *   - sshd: `etc/ssh/sshd_config` (absent: services.openssh is off): Port, ListenAddress, AllowUsers, AllowGroups,
 *     DenyUsers, PermitRootLogin (PasswordAuthentication does not decide whether a key login works);
 *   - the firewall: `firewall.service`'s start script (iptables: `--dport P … -j nixos-fw-accept`) or
 *     `nftables.service`'s ruleset (`tcp dport { 22, 80 } accept`); no firewall unit: nothing is filtered.
 *
 * The files are gathered into a `ReachFiles` map (relative paths under the toplevel; ExecStart scripts under their
 * absolute store path) by `readLocalReachFiles` here or by the remote script (REACH_COLLECT_SH) over ssh, so both
 * sides go through the same parser. Every read is capped; nothing here throws on odd content.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Relative path (or absolute store path of a unit's script) -> content (capped). */
export type ReachFiles = ReadonlyMap<string, string>;

/** The caps of one collection (the remote script uses the same numbers). */
export const REACH_LIMITS = { fileBytes: 256 * 1024, scriptBytes: 512 * 1024, networkFiles: 200 } as const;

/** The unit files whose ExecStart scripts carry addresses, routes or firewall rules. */
export const REACH_UNITS = [
  'firewall.service',
  'nftables.service',
  'network-setup.service',
  'network-addresses-*.service',
] as const;

/**
 * The same collection as `readLocalReachFiles`, as POSIX sh for a remote target: `reach_etc TOPLEVEL PREFIX` sends
 * one record `reach PREFIX<relative path>` per file (a unit's script under `PREFIX<its store path>`). It needs the
 * enclosing script's `rec` and `fin` (core/diff/remote). Paths are read with `while read`, never word-split or
 * globbed; nothing read is evaluated.
 */
export const REACH_COLLECT_SH = `reach_file() {
  if [ -f "$2" ] && [ -r "$2" ]; then rec reach "$1"; head -c "$3" -- "$2"; fin; fi
}
reach_etc() {
  e=$1/etc k=0
  reach_file "$2etc/hosts" "$e/hosts" ${REACH_LIMITS.fileBytes}
  reach_file "$2etc/ssh/sshd_config" "$e/ssh/sshd_config" ${REACH_LIMITS.fileBytes}
  for f in "$e"/systemd/network/*.network "$e"/systemd/network/*.netdev "$e"/systemd/network/*.link; do
    [ -f "$f" ] || continue
    k=$((k + 1)); [ "$k" -le ${REACH_LIMITS.networkFiles} ] || break
    reach_file "$2etc/systemd/network/\${f##*/}" "$f" ${REACH_LIMITS.fileBytes}
  done
  for f in ${REACH_UNITS.map((u) => `"$e"/systemd/system/${u}`).join(' ')}; do
    [ -f "$f" ] || continue
    reach_file "$2etc/systemd/system/\${f##*/}" "$f" ${REACH_LIMITS.fileBytes}
    sed -n 's|^[[:space:]]*Exec[A-Za-z]*[[:space:]]*=[[:space:]]*[-@+!:]*\\(/[^[:space:]";]*\\).*|\\1|p' "$f" |
      head -n 8 | while IFS= read -r s; do reach_file "$2$s" "$s" ${REACH_LIMITS.scriptBytes}; done
  done
}
`;

export interface InterfaceAddress {
  /** The interface (its name, or the `[Match] Name=` words of a networkd file). */
  iface: string;
  address: string;
}

export interface RouteFact {
  iface: string;
  /** "default" for a gateway route. */
  destination: string;
  gateway: string | null;
}

export interface NetworkFileFact {
  file: string;
  kind: 'network' | 'netdev' | 'link';
  /** What it matches (`Name=`, `MACAddress=`, `OriginalName=` words), or its netdev name. */
  match: string;
  /** DHCP= of a .network file (null when not set). */
  dhcp: string | null;
  /** `[Link] Name=` of a .link file: the name it gives the interface. */
  renameTo: string | null;
}

export interface SshdFacts {
  enabled: boolean;
  ports: number[];
  listen: string[];
  allowUsers: string[] | null;
  allowGroups: string[] | null;
  denyUsers: string[] | null;
  permitRootLogin: string | null;
}

export interface FirewallFacts {
  /** A firewall unit exists (networking.firewall.enable or networking.nftables.enable). */
  enabled: boolean;
  kind: 'iptables' | 'nftables' | null;
  /** TCP ports opened for everyone or on some interface, as inclusive ranges; null when the script was not read. */
  tcpOpen: Array<[number, number]> | null;
}

export interface ReachFacts {
  addresses: InterfaceAddress[];
  routes: RouteFact[];
  networkFiles: NetworkFileFact[];
  /** Host name -> addresses, from etc/hosts. */
  hosts: Record<string, string[]>;
  sshd: SshdFacts;
  firewall: FirewallFacts;
}

export type ReachSubject = 'address' | 'route' | 'interface' | 'dhcp' | 'hosts' | 'sshd' | 'firewall';

export interface ReachFinding {
  subject: ReachSubject;
  /** The change may end the way in: an ssh session to the machine can be lost by it. */
  cutsOff: boolean;
  message: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

/** Reads the reach files of a local toplevel (symbolic links followed, as the running system would see them). */
export async function readLocalReachFiles(toplevel: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const read = async (rel: string, abs: string, max: number): Promise<void> => {
    const text = await readCapped(abs, max);
    if (text !== null) files.set(rel, text);
  };
  const etc = path.join(toplevel, 'etc');
  await read('etc/hosts', path.join(etc, 'hosts'), REACH_LIMITS.fileBytes);
  await read('etc/ssh/sshd_config', path.join(etc, 'ssh', 'sshd_config'), REACH_LIMITS.fileBytes);
  const networkDir = path.join(etc, 'systemd', 'network');
  const networkNames = (await listDir(networkDir))
    .filter((n) => /\.(network|netdev|link)$/.test(n))
    .sort()
    .slice(0, REACH_LIMITS.networkFiles);
  for (const n of networkNames)
    await read(`etc/systemd/network/${n}`, path.join(networkDir, n), REACH_LIMITS.fileBytes);
  const unitDir = path.join(etc, 'systemd', 'system');
  const units = (await listDir(unitDir)).filter((n) => REACH_UNITS.some((p) => globMatch(p, n))).sort();
  for (const u of units) {
    const rel = `etc/systemd/system/${u}`;
    await read(rel, path.join(unitDir, u), REACH_LIMITS.fileBytes);
    const text = files.get(rel);
    if (text === undefined) continue;
    for (const script of execScripts(text)) {
      if (!files.has(script)) await read(script, script, REACH_LIMITS.scriptBytes);
    }
  }
  return files;
}

async function readCapped(file: string, max: number): Promise<string | null> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(file, 'r');
    const buffer = Buffer.alloc(max);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, total, max - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total >= max) break;
    }
    return buffer.toString('utf8', 0, total);
  } catch {
    return null;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(dir);
  } catch {
    return [];
  }
}

/** `*` only, the one wildcard of REACH_UNITS. */
function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('[^/]*')}$`);
  return re.test(name);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The absolute paths of a unit's ExecStart*=/ExecReload= programs (prefixes `@-+!:` dropped), at most 8. */
export function execScripts(unit: string): string[] {
  const out: string[] = [];
  for (const line of unit.split('\n')) {
    const m = /^\s*Exec(?:Start|StartPre|StartPost|Reload)\s*=\s*[-@+!:]*(\/[^\s"';]+)/.exec(line);
    if (m && !out.includes(m[1]!)) out.push(m[1]!);
  }
  return out.slice(0, 8);
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

interface IniEntry {
  section: string;
  key: string;
  value: string;
}

/** systemd unit syntax: `[Section]`, `Key=Value`, comments with # or ;, continuation lines ignored. */
function parseIni(text: string): IniEntry[] {
  const out: IniEntry[] = [];
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[([^\]]*)\]$/.exec(line);
    if (s) {
      section = s[1]!.trim();
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    out.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  return out;
}

const words = (v: string): string[] => v.split(/\s+/).filter((w) => w !== '');

function networkdFacts(
  file: string,
  text: string,
  facts: Pick<ReachFacts, 'addresses' | 'routes' | 'networkFiles'>,
): void {
  const kind = file.endsWith('.network') ? 'network' : file.endsWith('.netdev') ? 'netdev' : 'link';
  const entries = parseIni(text);
  const get = (section: string, key: string): string[] =>
    entries.filter((e) => e.section === section && e.key === key).map((e) => e.value);
  const matchWords =
    kind === 'netdev'
      ? get('NetDev', 'Name').flatMap(words)
      : [...get('Match', 'Name'), ...get('Match', 'MACAddress'), ...get('Match', 'OriginalName')].flatMap(words);
  const match = matchWords.length > 0 ? matchWords.join(' ') : `(any interface, ${file})`;
  const dhcpValues = get('Network', 'DHCP');
  facts.networkFiles.push({
    file,
    kind,
    match,
    dhcp: dhcpValues.length > 0 ? dhcpValues[dhcpValues.length - 1]! : null,
    renameTo: kind === 'link' ? (get('Link', 'Name')[0] ?? null) : null,
  });
  if (kind !== 'network') return;
  for (const a of [...get('Network', 'Address'), ...get('Address', 'Address')].flatMap(words)) {
    facts.addresses.push({ iface: match, address: a });
  }
  for (const g of get('Network', 'Gateway').flatMap(words)) {
    facts.routes.push({ iface: match, destination: 'default', gateway: g });
  }
  // each [Route] section is one route: pair Destination/Gateway in order of appearance
  let route: RouteFact | null = null;
  let last = '';
  for (const e of entries) {
    if (e.section !== 'Route') {
      last = e.section;
      continue;
    }
    if (route === null || last !== 'Route' || (e.key === 'Destination' && route.destination !== 'default')) {
      if (route) facts.routes.push(route);
      route = { iface: match, destination: 'default', gateway: null };
    }
    last = 'Route';
    if (e.key === 'Destination') route.destination = e.value;
    else if (e.key === 'Gateway') route.gateway = e.value;
  }
  if (route) facts.routes.push(route);
}

const unquote = (s: string): string => s.replace(/^["']|["']$/g, '');

/** `ip addr add A dev IF` and `ip route add|replace D [via G] dev IF` of scripted networking. */
function scriptFacts(text: string, facts: Pick<ReachFacts, 'addresses' | 'routes'>): void {
  for (const line of text.split('\n')) {
    const a = /\bip\s+(?:-[46]\s+)?addr(?:ess)?\s+(?:add|replace)\s+(\S+).*?\bdev\s+(\S+)/.exec(line);
    if (a) {
      facts.addresses.push({ iface: unquote(a[2]!), address: unquote(a[1]!) });
      continue;
    }
    const r = /\bip\s+(?:-[46]\s+)?route\s+(?:add|replace)\s+(\S+)(.*)$/.exec(line);
    if (r) {
      const via = /\bvia\s+(\S+)/.exec(r[2]!);
      const dev = /\bdev\s+(\S+)/.exec(r[2]!);
      facts.routes.push({
        iface: dev ? unquote(dev[1]!) : '(any)',
        destination: unquote(r[1]!),
        gateway: via ? unquote(via[1]!) : null,
      });
    }
  }
}

function parseHosts(text: string): Record<string, string[]> {
  const hosts: Record<string, string[]> = {};
  for (const raw of text.split('\n')) {
    const [address, ...names] = words(raw.replace(/#.*/, ''));
    if (!address) continue;
    for (const n of names) {
      const list = (hosts[n] ??= []);
      if (!list.includes(address)) list.push(address);
    }
  }
  return hosts;
}

/** The global part of sshd_config (up to the first Match block); keywords are case-insensitive, first one wins. */
export function parseSshdConfig(text: string | undefined): SshdFacts {
  if (text === undefined) {
    return {
      enabled: false,
      ports: [],
      listen: [],
      allowUsers: null,
      allowGroups: null,
      denyUsers: null,
      permitRootLogin: null,
    };
  }
  const ports: number[] = [];
  const listen: string[] = [];
  let allowUsers: string[] | null = null;
  let allowGroups: string[] | null = null;
  let denyUsers: string[] | null = null;
  let permitRootLogin: string | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (key === 'match') break;
    if (key === 'port') {
      const n = Number(value);
      if (Number.isInteger(n) && n > 0 && n < 65536 && !ports.includes(n)) ports.push(n);
    } else if (key === 'listenaddress') listen.push(value);
    else if (key === 'allowusers') allowUsers = [...(allowUsers ?? []), ...words(value)];
    else if (key === 'allowgroups') allowGroups = [...(allowGroups ?? []), ...words(value)];
    else if (key === 'denyusers') denyUsers = [...(denyUsers ?? []), ...words(value)];
    else if (key === 'permitrootlogin') permitRootLogin ??= value.toLowerCase();
  }
  return {
    enabled: true,
    ports: ports.length > 0 ? ports : [22],
    listen,
    allowUsers,
    allowGroups,
    denyUsers,
    permitRootLogin,
  };
}

/** The TCP ports a NixOS firewall script or nftables ruleset accepts. */
export function firewallTcpOpen(text: string, kind: 'iptables' | 'nftables'): Array<[number, number]> {
  const open: Array<[number, number]> = [];
  const range = (spec: string, sep: string): void => {
    const [a, b] = spec.split(sep).map((x) => Number(x.trim()));
    if (a !== undefined && Number.isInteger(a) && a > 0) open.push([a, b !== undefined && Number.isInteger(b) ? b : a]);
  };
  if (kind === 'iptables') {
    for (const m of text.matchAll(/-p\s+tcp\b[^\n]*?--dport\s+(\d+(?::\d+)?)[^\n]*?-j\s+nixos-fw-accept/g)) {
      range(m[1]!, ':');
    }
  } else {
    for (const m of text.matchAll(/\btcp\s+dport\s+(\{[^}]*\}|\d+(?:-\d+)?)[^\n]*?\baccept\b/g)) {
      const spec = m[1]!;
      for (const part of spec.replace(/[{}]/g, '').split(',')) if (part.trim() !== '') range(part, '-');
    }
  }
  return open;
}

/** What the collected files say about how the machine is reached. */
export function parseReach(files: ReachFiles): ReachFacts {
  const facts: ReachFacts = {
    addresses: [],
    routes: [],
    networkFiles: [],
    hosts: {},
    sshd: parseSshdConfig(files.get('etc/ssh/sshd_config')),
    firewall: { enabled: false, kind: null, tcpOpen: null },
  };
  const names = [...files.keys()].sort();
  for (const name of names) {
    if (name.startsWith('etc/systemd/network/')) {
      networkdFacts(name.slice('etc/systemd/network/'.length), files.get(name)!, facts);
    }
  }
  const hosts = files.get('etc/hosts');
  if (hosts !== undefined) facts.hosts = parseHosts(hosts);
  const scriptsOf = (unit: string): string[] =>
    execScripts(files.get(`etc/systemd/system/${unit}`) ?? '')
      .map((s) => files.get(s))
      .filter((s): s is string => s !== undefined);
  for (const name of names) {
    const unit = name.slice('etc/systemd/system/'.length);
    if (!name.startsWith('etc/systemd/system/')) continue;
    if (unit === 'network-setup.service' || /^network-addresses-.*\.service$/.test(unit)) {
      for (const script of scriptsOf(unit)) scriptFacts(script, facts);
    }
  }
  for (const kind of ['nftables', 'iptables'] as const) {
    const unit = kind === 'nftables' ? 'nftables.service' : 'firewall.service';
    if (!files.has(`etc/systemd/system/${unit}`)) continue;
    const scripts = scriptsOf(unit);
    facts.firewall = {
      enabled: true,
      kind,
      tcpOpen: scripts.length > 0 ? scripts.flatMap((s) => firewallTcpOpen(s, kind)) : null,
    };
    break;
  }
  return facts;
}

// ---------------------------------------------------------------------------------------------------------------
// Comparing

/** The login user of `user@host` (null: ssh's default, unknown here). */
export function loginUser(host: string | null | undefined): string | null {
  if (!host) return null;
  const at = host.lastIndexOf('@');
  return at > 0 ? host.slice(0, at) : null;
}

const portOpen = (fw: FirewallFacts, port: number): boolean | null =>
  !fw.enabled ? true : fw.tcpOpen === null ? null : fw.tcpOpen.some(([a, b]) => port >= a && port <= b);

const key = (a: InterfaceAddress): string => `${a.iface}\u0000${a.address}`;
const routeKey = (r: RouteFact): string => `${r.iface}\u0000${r.destination}\u0000${r.gateway ?? ''}`;
const on = (iface: string): string => iface;
const list = (xs: readonly string[]): string => xs.join(', ');

/**
 * The changes between `before` and `after` that decide whether the machine is still reached, most dangerous first.
 * `user` is the ssh login user when known (AllowUsers, PermitRootLogin are checked against it).
 */
export function compareReach(
  before: ReachFacts,
  after: ReachFacts,
  options: { user?: string | null } = {},
): ReachFinding[] {
  const out: ReachFinding[] = [];
  const add = (subject: ReachSubject, cutsOff: boolean, message: string): void => {
    out.push({ subject, cutsOff, message });
  };

  // sshd
  const a = before.sshd;
  const b = after.sshd;
  if (a.enabled && !b.enabled) add('sshd', true, 'sshd is turned off (no /etc/ssh/sshd_config any more)');
  else if (!a.enabled && b.enabled) add('sshd', false, `sshd is turned on (port ${list(b.ports.map(String))})`);
  if (a.enabled && b.enabled) {
    const gone = a.ports.filter((p) => !b.ports.includes(p));
    const added = b.ports.filter((p) => !a.ports.includes(p));
    if (gone.length > 0 && added.length > 0 && a.ports.length === 1 && b.ports.length === 1)
      add('sshd', true, `sshd moves from port ${gone[0]} to ${added[0]}`);
    else {
      if (gone.length > 0) add('sshd', true, `sshd stops listening on port ${list(gone.map(String))}`);
      if (added.length > 0) add('sshd', false, `sshd also listens on port ${list(added.map(String))}`);
    }
    const lostListen = a.listen.length === 0 ? (b.listen.length > 0 ? b.listen : []) : [];
    if (lostListen.length > 0)
      add('sshd', true, `sshd listens only on ${list(lostListen)} (it listened on every address)`);
    else {
      const gl = a.listen.filter((l) => !b.listen.includes(l));
      if (b.listen.length > 0 && gl.length > 0) add('sshd', true, `sshd no longer listens on ${list(gl)}`);
    }
    const user = options.user ?? null;
    if (b.allowUsers !== null && JSON.stringify(a.allowUsers) !== JSON.stringify(b.allowUsers)) {
      const excluded = user !== null && !b.allowUsers.some((p) => globMatchUser(p, user));
      add(
        'sshd',
        excluded || user === null,
        `sshd allows only the users ${list(b.allowUsers)}` +
          (excluded ? ` (not ${user}, who logs in for this switch)` : ''),
      );
    }
    if (b.allowGroups !== null && JSON.stringify(a.allowGroups) !== JSON.stringify(b.allowGroups)) {
      add('sshd', true, `sshd allows only the groups ${list(b.allowGroups)}`);
    }
    if (b.denyUsers !== null && JSON.stringify(a.denyUsers) !== JSON.stringify(b.denyUsers)) {
      const denied = user !== null && b.denyUsers.some((p) => globMatchUser(p, user));
      add(
        'sshd',
        denied,
        `sshd denies the users ${list(b.denyUsers)}` + (denied ? ` (${user} logs in for this switch)` : ''),
      );
    }
    if (user === 'root' && a.permitRootLogin !== b.permitRootLogin && b.permitRootLogin === 'no') {
      add('sshd', true, 'sshd no longer lets root log in (PermitRootLogin no), and this switch logs in as root');
    }
  }

  // firewall: is sshd's port (after the switch) still open?
  if (b.enabled) {
    for (const port of b.ports) {
      const was = a.enabled && a.ports.includes(port) ? portOpen(before.firewall, port) : true;
      const now = portOpen(after.firewall, port);
      if (now === false && was !== false) {
        add(
          'firewall',
          true,
          before.firewall.enabled
            ? `the firewall no longer opens TCP port ${port} (sshd's port)`
            : `the firewall is turned on and does not open TCP port ${port} (sshd's port)`,
        );
      } else if (now === null && was === true) {
        add('firewall', false, `the firewall's rules could not be read: is TCP port ${port} (sshd's) still open?`);
      }
    }
  }
  if (before.firewall.enabled && !after.firewall.enabled) add('firewall', false, 'the firewall is turned off');

  // interfaces: files that match another interface, files removed, renames
  const filesBefore = new Map(before.networkFiles.map((f) => [f.file, f]));
  const filesAfter = new Map(after.networkFiles.map((f) => [f.file, f]));
  for (const [file, f] of filesBefore) {
    const g = filesAfter.get(file);
    if (!g) {
      const what =
        f.kind === 'netdev' ? `the network device ${f.match} is no longer created` : `it configured ${f.match}`;
      add('interface', true, `systemd-networkd file ${file} is removed: ${what}`);
      continue;
    }
    if (f.match !== g.match)
      add('interface', true, `systemd-networkd file ${file} matches ${g.match} instead of ${f.match}`);
    if (f.renameTo !== g.renameTo)
      add(
        'interface',
        true,
        `interface ${g.match} is named ${g.renameTo ?? '(by the kernel)'} instead of ${f.renameTo ?? '(by the kernel)'}`,
      );
    if (f.kind === 'network' && f.dhcp !== g.dhcp) {
      const off = (v: string | null): boolean => v === null || v === 'no' || v === 'false';
      add(
        'dhcp',
        !off(f.dhcp) && off(g.dhcp),
        `DHCP on ${g.match}: ${f.dhcp ?? 'off'} → ${g.dhcp ?? 'off'}` +
          (!off(f.dhcp) && off(g.dhcp) ? ' (its leased address goes)' : ''),
      );
    }
  }
  for (const [file, g] of filesAfter) {
    if (!filesBefore.has(file)) {
      add('interface', false, `systemd-networkd file ${file} is added (${g.kind}: ${g.match})`);
    }
  }

  // addresses and routes
  const addrAfter = new Set(after.addresses.map(key));
  const addrBefore = new Set(before.addresses.map(key));
  const removed = before.addresses.filter((x) => !addrAfter.has(key(x)));
  const addedAddrs = after.addresses.filter((x) => !addrBefore.has(key(x)));
  for (const x of removed) {
    const moved = after.addresses.find((y) => y.address === x.address);
    add(
      'address',
      true,
      moved
        ? `address ${x.address} moves from ${on(x.iface)} to ${on(moved.iface)}`
        : `address ${x.address} removed from ${on(x.iface)}`,
    );
  }
  for (const y of addedAddrs) {
    if (!before.addresses.some((x) => x.address === y.address))
      add('address', false, `address ${y.address} added to ${on(y.iface)}`);
  }
  const routesAfter = new Set(after.routes.map(routeKey));
  const routesBefore = new Set(before.routes.map(routeKey));
  for (const r of before.routes) {
    if (routesAfter.has(routeKey(r))) continue;
    const via = r.gateway ? ` via ${r.gateway}` : '';
    add(
      'route',
      r.destination === 'default' || r.destination === '0.0.0.0/0' || r.destination === '::/0',
      `route ${r.destination}${via} on ${on(r.iface)} removed`,
    );
  }
  for (const r of after.routes) {
    if (!routesBefore.has(routeKey(r)))
      add('route', false, `route ${r.destination}${r.gateway ? ` via ${r.gateway}` : ''} on ${on(r.iface)} added`);
  }

  // /etc/hosts
  const names = new Set([...Object.keys(before.hosts), ...Object.keys(after.hosts)]);
  for (const n of [...names].sort()) {
    const x = before.hosts[n] ?? [];
    const y = after.hosts[n] ?? [];
    if (JSON.stringify([...x].sort()) === JSON.stringify([...y].sort())) continue;
    if (y.length === 0) add('hosts', false, `/etc/hosts no longer names ${n} (${list(x)})`);
    else if (x.length === 0) add('hosts', false, `/etc/hosts names ${n} as ${list(y)}`);
    else add('hosts', false, `/etc/hosts: ${n} is ${list(y)} instead of ${list(x)}`);
  }

  return [...out.filter((f) => f.cutsOff), ...out.filter((f) => !f.cutsOff)];
}

/** sshd's AllowUsers/DenyUsers patterns: `user` or `user@host`, with `*` and `?`. */
function globMatchUser(pattern: string, user: string): boolean {
  const userPart = pattern.includes('@') ? pattern.slice(0, pattern.indexOf('@')) : pattern;
  const re = new RegExp(
    `^${userPart
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escapeRegExp(c)))
      .join('')}$`,
  );
  return re.test(user);
}

/** Whether any finding may cut the operator off. */
export function cutsOff(findings: readonly ReachFinding[] | null | undefined): boolean {
  return (findings ?? []).some((f) => f.cutsOff);
}
