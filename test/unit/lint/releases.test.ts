import assert from 'node:assert/strict';
import {
  compareVersions,
  homeManagerMaxStateVersion,
  isNixosRelease,
  isStateVersionFormat,
  nearestRelease,
  nextRelease,
  releaseUpperBoundForDate,
} from '../../../src/core/lint/releases';

describe('lint/releases', () => {
  it('knows the YY.MM format', () => {
    assert.ok(isStateVersionFormat('24.05'));
    assert.ok(!isStateVersionFormat('24.5'));
    assert.ok(!isStateVersionFormat('24.05.20240601.abcdef0'));
    assert.ok(!isStateVersionFormat(' 24.05'));
  });

  it('tells real releases from look-alikes', () => {
    for (const v of ['13.10', '17.09', '20.09', '21.05', '24.11', '26.05', '26.11', '27.05', '30.11'])
      assert.ok(isNixosRelease(v), v);
    for (const v of ['21.03', '24.13', '20.05', '00.00', '27.06', '19.04']) assert.ok(!isNixosRelease(v), v);
  });

  it('compares versions numerically', () => {
    assert.equal(compareVersions('9.6', '10'), -1);
    assert.equal(compareVersions('24.05', '24.05'), 0);
    assert.equal(compareVersions('24.11', '24.05'), 1);
    assert.equal(compareVersions('21.03', '20.09'), 1);
    assert.equal(compareVersions('21.03', '21.05'), -1);
  });

  it('steps through the schedule', () => {
    assert.equal(nextRelease('24.05'), '24.11');
    assert.equal(nextRelease('24.11'), '25.05');
    assert.equal(nextRelease('20.09'), '21.05');
    assert.equal(nextRelease('26.11'), '27.05');
    assert.equal(nextRelease('27.05'), '27.11');
  });

  it('bounds the release of an unstable snapshot by its date (with the branch-off window)', () => {
    assert.equal(releaseUpperBoundForDate(new Date('2024-01-15T00:00:00Z')), '24.05');
    // Within the weeks before a release, master already carries the next number.
    assert.equal(releaseUpperBoundForDate(new Date('2024-05-10T00:00:00Z')), '24.11');
    assert.equal(releaseUpperBoundForDate(new Date('2024-06-15T00:00:00Z')), '24.11');
    assert.equal(releaseUpperBoundForDate(new Date('2024-12-20T00:00:00Z')), '25.05');
    // Past the table the schedule continues.
    assert.equal(releaseUpperBoundForDate(new Date('2027-08-01T00:00:00Z')), '27.11');
    assert.equal(releaseUpperBoundForDate(new Date('2027-12-20T00:00:00Z')), '28.05');
  });

  it('knows home-manager 24.11 accepts 25.05', () => {
    assert.equal(homeManagerMaxStateVersion('24.11'), '25.05');
    assert.equal(homeManagerMaxStateVersion('25.05'), '25.05');
  });

  it('nearestRelease: the release closest in time, the earlier on a tie, only for YY.MM values', () => {
    assert.equal(nearestRelease('21.03'), '21.05');
    assert.equal(nearestRelease('24.08'), '24.05');
    assert.equal(nearestRelease('24.09'), '24.11');
    assert.equal(nearestRelease('24.13'), '24.11');
    assert.equal(nearestRelease('12.01'), '13.10');
    assert.equal(nearestRelease('24.5'), undefined);
    assert.equal(nearestRelease('21.02', ['20.09', '21.03', '21.05']), '21.03');
  });
});
