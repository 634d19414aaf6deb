import assert from 'node:assert/strict';
import { describeReboot, formatAge, formatBytes, formatLocalDateTime, shortRevision } from '../../src/core/format';
import type { RebootStatus } from '../../src/core/generations/types';

describe('format', () => {
  it('prints sizes in binary units', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(5 * 1024 * 1024 * 1024), '5.0 GiB');
    assert.equal(formatBytes(-8.5 * 1024), '-8.5 KiB');
    assert.equal(formatBytes(250 * 1024 * 1024), '250 MiB');
  });

  it('prints local date and time to the minute', () => {
    const date = new Date(2024, 5, 1, 9, 5, 59);
    assert.equal(formatLocalDateTime(date.toISOString()), '2024-06-01 09:05');
    assert.equal(formatLocalDateTime('not a date'), 'not a date');
  });

  it('says how long ago', () => {
    const now = new Date('2025-01-10T12:00:00Z');
    assert.equal(formatAge('2025-01-10T11:59:30Z', now), '30 seconds ago');
    assert.equal(formatAge('2025-01-10T11:00:00Z', now), '1 hour ago');
    assert.equal(formatAge('2025-01-07T12:00:00Z', now), '3 days ago');
    assert.equal(formatAge('2023-01-10T12:00:00Z', now), '2 years ago');
    assert.equal(formatAge('2025-01-11T12:00:00Z', now), 'in the future');
    assert.equal(formatAge('garbage', now), '');
  });

  it('shortens full git revisions and keeps -dirty', () => {
    assert.equal(shortRevision('0123456789abcdef0123456789abcdef01234567'), '0123456');
    assert.equal(shortRevision('0123456789abcdef0123456789abcdef01234567-dirty'), '0123456-dirty');
    assert.equal(shortRevision('v1.2'), 'v1.2');
  });
});

describe('describeReboot', () => {
  const status = (differs: RebootStatus['differs']): RebootStatus => ({
    booted: '/nix/store/a',
    activated: '/nix/store/b',
    needed: differs.length > 0,
    differs,
  });

  it('names what differs in plain words', () => {
    assert.equal(describeReboot(status(['kernel'])), 'the activated system has another kernel than the booted one');
    assert.equal(
      describeReboot(status(['kernel', 'initrd', 'kernel-modules'])),
      'the activated system has another kernel, initrd and kernel modules than the booted one',
    );
    assert.equal(describeReboot(status([])), null);
  });
});
