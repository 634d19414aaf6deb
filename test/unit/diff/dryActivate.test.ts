import assert from 'node:assert/strict';
import { noUnitChanges, parseDryActivate } from '../../../src/core/diff/dryActivate';

describe('diff: switch-to-configuration dry-activate output', () => {
  it('reads the unit lists of a dry activation', () => {
    const out = [
      'would stop the following units: grafana.service, systemd-tmpfiles-resetup.service',
      'would NOT stop the following changed units: display-manager.service',
      'would activate the configuration...',
      'setting up /etc...',
      'would restart systemd',
      'would reload the following units: dbus-broker.service',
      'would restart the following units: nginx.service, sshd.service',
      'would start the following units: grafana.service, templated@inst\\x2d1.service',
    ].join('\n');
    const u = parseDryActivate(out);
    assert.deepEqual(u.stop, ['grafana.service', 'systemd-tmpfiles-resetup.service']);
    assert.deepEqual(u.skip, ['display-manager.service']);
    assert.deepEqual(u.reload, ['dbus-broker.service']);
    assert.deepEqual(u.restart, ['nginx.service', 'sshd.service']);
    assert.deepEqual(u.start, ['grafana.service', 'templated@inst\\x2d1.service']);
    assert.equal(u.restartSystemd, true);
    assert.deepEqual(u.other, ['setting up /etc...']);
    assert.equal(noUnitChanges(u), false);
  });

  it('reads the lines of a real switch too, and strips colours', () => {
    const u = parseDryActivate(
      'stopping the following units: a.service\r\n\x1b[1mrestarting the following units: b.socket\x1b[0m\n' +
        'the following new units were started: c.timer, d.mount\nstarting the following units: e.target',
    );
    assert.deepEqual(u.stop, ['a.service']);
    assert.deepEqual(u.restart, ['b.socket']);
    assert.deepEqual(u.start, ['c.timer', 'd.mount', 'e.target']);
  });

  it('never throws, drops what is not a unit, and tells when nothing changes', () => {
    const u = parseDryActivate('would restart the following units: , $(rm -rf /), ok.service,ok.service\n\n\u0000');
    assert.deepEqual(u.restart, ['ok.service']);
    const none = parseDryActivate('would activate the configuration...\n');
    assert.equal(noUnitChanges(none), true);
    assert.deepEqual(none.other, []);
    assert.equal(noUnitChanges(parseDryActivate(undefined as unknown as string)), true);
  });
});
