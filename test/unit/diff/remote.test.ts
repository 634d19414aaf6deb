import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sshOptsFromEnv, targetFromArgs } from '../../../src/cli/commands/diff';
import { UsageError } from '../../../src/cli/args';
import {
  dryActivateArgv,
  parseRemoteRecords,
  readSystemInfo,
  remoteFactsArgv,
  snapshotFs,
  REMOTE_FACTS_SCRIPT,
  type RemoteRecord,
} from '../../../src/core/diff';
import { StoreMetaCache } from '../../../src/core/generations/store-meta';
import { remoteElevation, targetInvocation, REMOTE_SHELL_COMMAND, type Target } from '../../../src/core/target';
import { HOSTILE as SHARED_HOSTILE } from '../../lib/samples';

const OWN_HOSTILE = [
  "it's",
  'a b',
  '$(touch pwned)',
  '`touch pwned`',
  'x; touch pwned',
  'line\nbreak',
  '-rf',
  '"dq" \\ back',
  '*',
  '',
];
const HOSTILE = [...OWN_HOSTILE, ...SHARED_HOSTILE];
const MARK = 'nixgen-0123456789abcdef01234567';

/** The words /bin/sh on the target runs: its stdin is one `exec WORDS` line. */
function stdinWords(input: string | undefined): string[] {
  assert.ok(input !== undefined && input.startsWith('exec ') && input.endsWith('\n'), String(input));
  return wordsOf(input.slice('exec '.length, -1));
}

/** How a POSIX shell splits the remote command line (ssh's last argument), without running it. */
function wordsOf(commandLine: string): string[] {
  const r = spawnSync('sh', ['-c', 'eval "set -- $1"; printf "%s\\0" "$@"', 'sh', commandLine], {
    encoding: 'utf8',
    cwd: os.tmpdir(),
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\0').slice(0, -1);
}

const rec = (kind: string, name: string, body: string): string => `${MARK} ${kind} ${name}\n${body}\n${MARK} end\n`;

describe('diff: remote target', () => {
  it('sends hostile paths and nix names to /bin/sh on stdin as exact words, never on the command line', () => {
    const target: Target = { kind: 'ssh', host: 'user@example', port: 2222, sshArgs: ['-i', 'key file'] };
    for (const value of HOSTILE.filter((v) => v !== '')) {
      const inner = remoteFactsArgv(`/run/${value}/current-system`, `/opt/${value}/nix`, MARK);
      const { argv, input } = targetInvocation(target, inner, { env: { NIX_STORE_DIR: `/s ${value}` } });
      // ssh options, then `--` and the host, then the fixed remote command
      assert.deepEqual(argv.slice(-3), ['--', 'user@example', REMOTE_SHELL_COMMAND]);
      assert.ok(argv.includes('ControlMaster=no') && argv.includes('BatchMode=yes'));
      const words = stdinWords(input);
      assert.deepEqual(words, ['env', `NIX_STORE_DIR=/s ${value}`, ...inner]);
      assert.equal(words[4], REMOTE_FACTS_SCRIPT);
    }
    assert.equal(fs.existsSync(path.join(os.tmpdir(), 'pwned')), false);
    assert.equal(fs.existsSync('/tmp/nixgen-pwned'), false);
  });

  it('refuses hostile hosts, odd marks, empty values, relative toplevels and bad env names', () => {
    for (const host of ['-oProxyCommand=sh', 'a b', 'a\nb', '', '  ', 'x\0y']) {
      assert.throws(() => targetInvocation({ kind: 'ssh', host }, ['true']), /target host/);
      assert.throws(() => targetFromArgs(host, {}), UsageError);
    }
    assert.throws(() => remoteFactsArgv('/run/current-system', 'nix', 'x; rm'), /invalid record mark/);
    assert.throws(() => remoteFactsArgv('', 'nix', MARK), /cannot be empty/);
    assert.throws(() => dryActivateArgv('result'), /not an absolute store path/);
    assert.throws(
      () => targetInvocation({ kind: 'ssh', host: 'h' }, ['true'], { env: { 'A;B': '1' } }),
      /invalid environment variable name/,
    );
    assert.deepEqual(dryActivateArgv('/nix/store/x-sys'), [
      '/nix/store/x-sys/bin/switch-to-configuration',
      'dry-activate',
    ]);
  });

  it('elevates remote steps only when needed, never interactively', () => {
    assert.deepEqual(remoteElevation('root@host', 'sudo'), []);
    assert.deepEqual(remoteElevation('admin@host', 'none'), []);
    assert.deepEqual(remoteElevation('admin@host', 'sudo'), ['sudo', '-n', '--']);
    assert.deepEqual(remoteElevation('host', 'doas'), ['doas', '-n', '--']);
    const { input } = targetInvocation({ kind: 'ssh', host: 'admin@h' }, dryActivateArgv('/nix/store/x-sys'), {
      elevate: remoteElevation('admin@h', 'sudo'),
    });
    assert.deepEqual(stdinWords(input), [
      'sudo',
      '-n',
      '--',
      '/nix/store/x-sys/bin/switch-to-configuration',
      'dry-activate',
    ]);
  });

  it('splits NIX_SSHOPTS at whitespace, as nixos-rebuild does', () => {
    assert.deepEqual(sshOptsFromEnv(' -p 2222\t-o  SendEnv=NIX_* '), ['-p', '2222', '-o', 'SendEnv=NIX_*']);
    assert.deepEqual(sshOptsFromEnv(undefined), []);
    assert.deepEqual(targetFromArgs('me@h', { NIX_SSHOPTS: '-p 2' }), {
      kind: 'ssh',
      host: 'me@h',
      sshArgs: ['-p', '2'],
    });
  });

  it('parses records exactly: empty bodies, no trailing newline, banners and fake end lines', () => {
    const text =
      'Welcome to the banner\nnixgen-fake end\n' +
      rec('root', '-', '/nix/store/00000000000000000000000000000000-sys') +
      rec('file', 'nixos-version', '24.11.20250101.abcdef0') +
      rec('file', 'configuration.nix', 'a\n\nend\nnixgen end\n') +
      rec('present', 'activate', '') +
      rec('dir', 'specialisation', 'a\nb\n') +
      `${MARK} pathinfo -\n{"cut": `;
    const records = parseRemoteRecords(text, MARK);
    assert.deepEqual(
      records.map((r) => [r.kind, r.name, r.body]),
      [
        ['root', '-', '/nix/store/00000000000000000000000000000000-sys'],
        ['file', 'nixos-version', '24.11.20250101.abcdef0'],
        ['file', 'configuration.nix', 'a\n\nend\nnixgen end\n'],
        ['present', 'activate', ''],
        ['dir', 'specialisation', 'a\nb\n'],
      ],
      'the cut pathinfo record is dropped, not used',
    );
    assert.deepEqual(parseRemoteRecords('garbage\n\0\n', MARK), []);
    assert.deepEqual(parseRemoteRecords('', MARK), []);
  });

  it('reads system facts from a snapshot the same way as from files', async () => {
    const root = '/nix/store/00000000000000000000000000000000-nixos-system-box-24.11.20250101.abcdef0';
    const modules = '/nix/store/11111111111111111111111111111111-linux-6.6.1-modules-shrunk';
    const records: RemoteRecord[] = [
      { kind: 'root', name: '-', body: root },
      { kind: 'file', name: 'nixos-version', body: '24.11.20250101.abcdef0' },
      { kind: 'file', name: 'configuration.nix', body: '{ system.stateVersion = "23.11"; }\n' },
      { kind: 'link', name: 'kernel', body: '/nix/store/22222222222222222222222222222222-linux-6.6.1/bzImage' },
      { kind: 'link', name: 'initrd', body: '../33333333333333333333333333333333-initrd/initrd' },
      { kind: 'link', name: 'kernel-modules', body: modules },
      { kind: 'present', name: 'kernel-modules', body: '' },
      { kind: 'dir', name: 'kernel-modules/lib/modules', body: '6.6.1\n' },
      { kind: 'dir', name: 'specialisation', body: 'gaming\n' },
    ];
    const info = await readSystemInfo(root, null, new StoreMetaCache(), snapshotFs(root, records));
    assert.deepEqual(info, {
      storePath: root,
      generation: null,
      label: '24.11.20250101.abcdef0',
      nixosVersion: '24.11.20250101.abcdef0',
      kernelVersion: '6.6.1',
      kernel: '/nix/store/22222222222222222222222222222222-linux-6.6.1/bzImage',
      initrd: '/nix/store/33333333333333333333333333333333-initrd/initrd',
      kernelModules: modules,
      stateVersion: '23.11',
      host: null,
    });
    // nothing known about other paths
    const fs2 = snapshotFs(root, records);
    assert.equal(await fs2.lstatIfExists('/etc/passwd'), null);
    assert.equal(await fs2.readSmall(`${root}/../../etc/passwd`, 100), null);
    await assert.rejects(fs2.readdir('/'), /ENOENT/);
    const bare = await readSystemInfo(root, 3, new StoreMetaCache(), snapshotFs(root, []));
    assert.equal(bare.generation, 3);
    assert.equal(bare.label, null);
    assert.equal(bare.stateVersion, null);
  });
});
