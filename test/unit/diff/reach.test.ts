import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  compareReach,
  cutsOff,
  diffSystems,
  execScripts,
  firewallTcpOpen,
  parseReach,
  parseRemoteRecords,
  parseSshdConfig,
  readLocalReachFiles,
  reachFilesOf,
  REMOTE_REACH_SCRIPT,
  type ReachFinding,
} from '../../../src/core/diff';
import { formatDiffText } from '../../../src/core/diff/format';
import { runProcess } from '../../../src/core/exec/process';

/**
 * A NixOS-shaped toplevel: `etc` is a link to an etc tree whose files are links to their own files, unit files
 * point at scripts by absolute path (as in the store), like the toplevels nixpkgs builds.
 */
interface SystemShape {
  network?: Record<string, string>;
  hosts?: string;
  sshd?: string | null;
  /** Unit name -> [unit text with @SCRIPT@ for the script's path, script text]. */
  units?: Record<string, [string, string]>;
}

function makeSystem(root: string, name: string, shape: SystemShape): string {
  const store = path.join(root, 'store');
  const etcOut = path.join(store, `${name}-etc`, 'etc');
  const put = (rel: string, text: string): void => {
    // every etc file is a link to a file of its own (environment.etc's `source`)
    const source = path.join(store, `${name}-src-${rel.replace(/\//g, '_')}`);
    fs.mkdirSync(path.dirname(source), { recursive: true });
    fs.writeFileSync(source, text);
    const dest = path.join(etcOut, rel);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.symlinkSync(source, dest);
  };
  for (const [file, text] of Object.entries(shape.network ?? {})) put(`systemd/network/${file}`, text);
  put('hosts', shape.hosts ?? '127.0.0.1 localhost\n');
  if (shape.sshd !== null) put('ssh/sshd_config', shape.sshd ?? 'Port 22\nPasswordAuthentication no\n');
  for (const [unit, [text, script]] of Object.entries(shape.units ?? {})) {
    const scriptPath = path.join(store, `${name}-${unit}-script`);
    fs.writeFileSync(scriptPath, script, { mode: 0o755 });
    put(`systemd/system/${unit}`, text.replace('@SCRIPT@', scriptPath));
  }
  put('systemd/system/sshd.service', '[Service]\nExecStart=/run/current-system/sw/bin/sshd -D\n');
  const toplevel = path.join(store, `${name}-nixos-system`);
  fs.mkdirSync(toplevel, { recursive: true });
  fs.symlinkSync(etcOut, path.join(toplevel, 'etc'));
  return toplevel;
}

const ETH0 = (address: string, extra = ''): string =>
  `[Match]\nName=eth0\n\n[Network]\nAddress=${address}\nGateway=10.0.0.1\n${extra}`;

const IPTABLES = (ports: number[]): string =>
  '#!/bin/sh\nip46tables -N nixos-fw\n' +
  ports.map((p) => `ip46tables -A nixos-fw -p tcp --dport ${p} -j nixos-fw-accept\n`).join('') +
  'ip46tables -A nixos-fw -p udp --dport 53 -j nixos-fw-accept\n';

const FIREWALL_UNIT = '[Unit]\nDescription=Firewall\n[Service]\nType=oneshot\nExecStart=@@SCRIPT@ firewall-start\n';

const messages = (fs: readonly ReachFinding[]): string[] => fs.map((f) => `${f.cutsOff ? 'CUT' : 'ok'} ${f.message}`);

describe('diff: changes that cut you off (etc trees, no evaluation)', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'nixgen-reach-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('finds an sshd port move, a removed address and a firewall that no longer opens the port', async () => {
    const a = makeSystem(root, 'a', {
      network: { '40-eth0.network': ETH0('10.0.0.5/24') },
      units: { 'firewall.service': [FIREWALL_UNIT, IPTABLES([22])] },
    });
    const b = makeSystem(root, 'b', {
      network: { '40-eth0.network': ETH0('10.0.0.6/24') },
      sshd: 'Port 2222\nPasswordAuthentication no\n',
      units: { 'firewall.service': [FIREWALL_UNIT, IPTABLES([22])] },
    });
    const found = compareReach(parseReach(await readLocalReachFiles(a)), parseReach(await readLocalReachFiles(b)));
    assert.deepEqual(messages(found), [
      'CUT sshd moves from port 22 to 2222',
      "CUT the firewall no longer opens TCP port 2222 (sshd's port)",
      'CUT address 10.0.0.5/24 removed from eth0',
      'ok address 10.0.0.6/24 added to eth0',
    ]);
    assert.ok(cutsOff(found));
  });

  it('says nothing for two systems reached the same way, and the firewall opening the new port is fine', async () => {
    const same = { network: { '40-eth0.network': ETH0('10.0.0.5/24') } };
    const a = makeSystem(root, 'a', same);
    const b = makeSystem(root, 'b', same);
    assert.deepEqual(
      compareReach(parseReach(await readLocalReachFiles(a)), parseReach(await readLocalReachFiles(b))),
      [],
    );
    const c = makeSystem(root, 'c', {
      ...same,
      sshd: 'Port 22\nPort 2222\n',
      units: { 'firewall.service': [FIREWALL_UNIT, IPTABLES([22, 2222])] },
    });
    const found = compareReach(parseReach(await readLocalReachFiles(a)), parseReach(await readLocalReachFiles(c)));
    assert.deepEqual(messages(found), ['ok sshd also listens on port 2222']);
    assert.equal(cutsOff(found), false);
  });

  it('sshd turned off, AllowUsers without the login user, root refused, ListenAddress narrowed', () => {
    const on = parseReach(new Map([['etc/ssh/sshd_config', 'Port 22\n']]));
    const off = parseReach(new Map());
    assert.deepEqual(messages(compareReach(on, off)), ['CUT sshd is turned off (no /etc/ssh/sshd_config any more)']);
    const strict = parseReach(
      new Map([
        [
          'etc/ssh/sshd_config',
          'port 22\nAllowUsers alice bob@10.*\nPermitRootLogin no\nListenAddress 10.0.0.5\nMatch User carol\n  AllowUsers carol\n',
        ],
      ]),
    );
    assert.deepEqual(messages(compareReach(on, strict, { user: 'root' })), [
      'CUT sshd listens only on 10.0.0.5 (it listened on every address)',
      'CUT sshd allows only the users alice, bob@10.* (not root, who logs in for this switch)',
      'CUT sshd no longer lets root log in (PermitRootLogin no), and this switch logs in as root',
    ]);
    // bob is allowed (the host part of a pattern is not known here): not a cut for him
    assert.deepEqual(
      compareReach(on, strict, { user: 'bob' }).map((f) => f.cutsOff),
      [true, false],
    );
  });

  it('networkd: a file that matches another interface, DHCP turned off, a default route and a link rename', () => {
    const before = parseReach(
      new Map([
        ['etc/systemd/network/40-eth0.network', '[Match]\nName=eth0\n[Network]\nDHCP=yes\n'],
        ['etc/systemd/network/50-wan.network', '[Match]\nName=wan\n[Route]\nGateway=192.0.2.1\n'],
        ['etc/systemd/network/10-wan.link', '[Match]\nMACAddress=52:54:00:12:34:56\n[Link]\nName=wan\n'],
      ]),
    );
    const after = parseReach(
      new Map([
        ['etc/systemd/network/40-eth0.network', '[Match]\nName=enp1s0\n[Network]\nDHCP=no\n'],
        ['etc/systemd/network/50-wan.network', '[Match]\nName=wan\n'],
        ['etc/systemd/network/10-wan.link', '[Match]\nMACAddress=52:54:00:12:34:56\n[Link]\nName=uplink\n'],
      ]),
    );
    assert.deepEqual(messages(compareReach(before, after)), [
      'CUT interface 52:54:00:12:34:56 is named uplink instead of wan',
      'CUT systemd-networkd file 40-eth0.network matches enp1s0 instead of eth0',
      'CUT DHCP on enp1s0: yes → no (its leased address goes)',
      'CUT route default via 192.0.2.1 on wan removed',
    ]);
  });

  it('scripted networking and /etc/hosts', async () => {
    const unit = '[Service]\nExecStart=@SCRIPT@\n';
    const a = makeSystem(root, 'a', {
      hosts: '127.0.0.1 localhost\n10.0.0.7 db # the database\n',
      units: {
        'network-addresses-ens3.service': [
          unit,
          '#!/bin/sh\nip addr add "192.0.2.10/24" dev "ens3"\nip route add "default" via "192.0.2.1" dev "ens3"\n',
        ],
      },
    });
    const b = makeSystem(root, 'b', {
      hosts: '127.0.0.1 localhost\n10.0.0.8 db\n',
      units: { 'network-addresses-ens3.service': [unit, '#!/bin/sh\n# no addresses\n'] },
    });
    const found = compareReach(parseReach(await readLocalReachFiles(a)), parseReach(await readLocalReachFiles(b)));
    assert.deepEqual(messages(found), [
      'CUT address 192.0.2.10/24 removed from ens3',
      'CUT route default via 192.0.2.1 on ens3 removed',
      'ok /etc/hosts: db is 10.0.0.8 instead of 10.0.0.7',
    ]);
  });

  it('nftables rulesets, iptables ranges, and a firewall newly turned on', () => {
    assert.deepEqual(firewallTcpOpen('tcp dport { 22, 80, 8000-8010 } accept\nudp dport 53 accept\n', 'nftables'), [
      [22, 22],
      [80, 80],
      [8000, 8010],
    ]);
    assert.deepEqual(
      firewallTcpOpen('ip46tables -A nixos-fw -p tcp --dport 2000:2100 -j nixos-fw-accept -i eth1\n', 'iptables'),
      [[2000, 2100]],
    );
    const open = parseReach(new Map([['etc/ssh/sshd_config', 'Port 2022\n']]));
    const unit = '[Service]\nExecStart=/nix/store/x-nftables-rules\n';
    const closed = parseReach(
      new Map([
        ['etc/ssh/sshd_config', 'Port 2022\n'],
        ['etc/systemd/system/nftables.service', unit],
        ['/nix/store/x-nftables-rules', '#!/bin/nft -f\ntable inet nixos-fw {\n tcp dport { 22, 80 } accept\n}\n'],
      ]),
    );
    assert.deepEqual(messages(compareReach(open, closed)), [
      "CUT the firewall is turned on and does not open TCP port 2022 (sshd's port)",
    ]);
    // the ruleset not readable: said, not counted as a cut
    const unknown = parseReach(
      new Map([
        ['etc/ssh/sshd_config', 'Port 2022\n'],
        ['etc/systemd/system/nftables.service', unit],
      ]),
    );
    assert.deepEqual(messages(compareReach(open, unknown)), [
      "ok the firewall's rules could not be read: is TCP port 2022 (sshd's) still open?",
    ]);
  });

  it('reads units with ExecStart prefixes and caps odd input without throwing', () => {
    assert.deepEqual(
      execScripts('ExecStart=@/nix/store/a-fw firewall-start\nExecReload=-/nix/store/b\nExecStop=/x\n'),
      ['/nix/store/a-fw', '/nix/store/b'],
    );
    assert.equal(parseSshdConfig('Port 99999\nPort abc\n').ports.join(), '22');
    const junk = parseReach(
      new Map([
        ['etc/systemd/network/x.network', '\u0000[[[\nName\n=\n[Route]\n'],
        ['etc/hosts', '\n\n# only comments\n'],
      ]),
    );
    assert.deepEqual(junk.addresses, []);
  });

  it('the remote collector (POSIX sh) gathers the same files as the local reader', async () => {
    const a = makeSystem(root, 'a', {
      network: { '40-eth0.network': ETH0('10.0.0.5/24'), '10-x.link': '[Link]\nName=x\n' },
      sshd: "Port 2222\nAllowUsers ops 'odd\n",
      units: {
        'firewall.service': [FIREWALL_UNIT, IPTABLES([2222])],
        'network-addresses-eth0.service': ['[Service]\nExecStart=@SCRIPT@\n', 'ip addr add 10.0.0.9/24 dev eth0\n'],
      },
    });
    const mark = 'nixgen-0123456789abcdef01234567';
    const missing = path.join(root, 'not-there');
    const r = await runProcess(['sh', '-c', REMOTE_REACH_SCRIPT, 'nixgen-remote-reach', mark, a, missing]);
    assert.equal(r.exitCode, 0, r.stderr);
    const records = parseRemoteRecords(r.stdout, mark);
    assert.ok(records.some((x) => x.kind === 'missing' && x.name === '1'));
    const remote = reachFilesOf(records, '0:');
    const local = await readLocalReachFiles(a);
    assert.deepEqual(new Map([...remote].sort()), new Map([...local].sort()));
    assert.equal(local.size, 8, [...local.keys()].join('\n'));
  });

  it('diffSystems puts the findings in the diff, and the text shows them first', async () => {
    const a = makeSystem(root, 'a', { network: { '40-eth0.network': ETH0('10.0.0.5/24') } });
    const b = makeSystem(root, 'b', { network: { '40-eth0.network': ETH0('10.0.0.5/24') }, sshd: null });
    const closure = (p: string): { root: string; paths: Map<string, number>; size: number } => ({
      root: p,
      paths: new Map([[p, 1]]),
      size: 1,
    });
    const info = (p: string): Parameters<typeof diffSystems>[0] => ({
      info: {
        storePath: p,
        generation: null,
        label: null,
        nixosVersion: null,
        kernelVersion: null,
        kernel: null,
        initrd: null,
        kernelModules: null,
        stateVersion: null,
        host: 'root@box',
      },
      closure: closure(p),
      reach: new Map(),
    });
    // a side read ahead without its etc files: no reach comparison (null), never a false "all clear"
    const unknown = await diffSystems(info(a), { ...(info(b) as object), reach: undefined } as never);
    assert.equal(unknown.reach, null);
    const running = { ...(info(a) as object), reach: await readLocalReachFiles(a) } as never;
    const next = { ...(info(b) as object), reach: await readLocalReachFiles(b) } as never;
    const d = await diffSystems(running, next);
    assert.deepEqual(messages(d.reach ?? []), ['CUT sshd is turned off (no /etc/ssh/sshd_config any more)']);
    const text = formatDiffText(d);
    assert.match(text, /may cut you off/);
    assert.ok(text.indexOf('sshd is turned off') < text.indexOf('Closure size'));
  });
});
