import assert from 'node:assert/strict';
import {
  activationProgram,
  SWITCH_GENERATION_SCRIPT,
  switchArgv,
  validateSwitch,
  type SwitchRequest,
} from '../../../src/core/deploy/switch-generation';
import { CLEAN_SCRIPT } from '../../../src/core/deploy/clean';
import { NOM_PIPELINE_SCRIPT } from '../../../src/core/deploy/rebuild';
import { parseRevision } from '../../../src/core/deploy/worktree';
import { taskValueProblem } from '../../../src/core/exec/task-values';
import { HOSTILE } from '../../lib/samples';

const request: SwitchRequest = {
  nixEnv: '/usr/bin/nix-env',
  profilePath: '/nix/var/nix/profiles/system',
  generation: 41,
  toplevel: '/nix/store/abc-nixos-system-box',
  action: 'switch',
  previousGeneration: 42,
  elevation: 'sudo',
};

describe('switch to generation', () => {
  it('runs one elevated script with the values as positional parameters', () => {
    assert.deepEqual(switchArgv('/tmp/d/switch.sh', request), [
      'sudo',
      '--',
      'sh',
      '-c',
      '/tmp/d/switch.sh',
      'nixos-generations-switch',
      '/usr/bin/nix-env',
      '/nix/var/nix/profiles/system',
      '41',
      '/nix/store/abc-nixos-system-box',
      'switch',
      '42',
    ]);
    const spec = switchArgv('/s', {
      ...request,
      specialisation: 'no-gpu',
      previousGeneration: null,
      elevation: 'none',
    });
    assert.deepEqual(spec.slice(-3), ['switch', '', 'no-gpu']);
    assert.equal(spec[0], 'sh');
  });

  it('keeps hostile profile paths as exact argv items', () => {
    for (const value of HOSTILE) {
      const argv = switchArgv('/s', { ...request, profilePath: `/profiles/${value}/system` });
      assert.equal(argv[7], `/profiles/${value}/system`);
    }
  });

  it('refuses relative paths, bad numbers and path-like specialisations', () => {
    assert.match(validateSwitch({ ...request, profilePath: 'system' }) ?? '', /absolute/);
    assert.match(validateSwitch({ ...request, generation: 0 }) ?? '', /generation number/);
    assert.match(validateSwitch({ ...request, specialisation: '../../evil' }) ?? '', /specialisation/);
    assert.match(validateSwitch({ ...request, specialisation: '..' }) ?? '', /specialisation/);
    assert.throws(() => switchArgv('/s', { ...request, nixEnv: 'nix-env' }), /absolute/);
    assert.equal(validateSwitch({ ...request, specialisation: 'gaming mode' }), null);
  });

  it('names the switch-to-configuration that will run', () => {
    assert.equal(activationProgram('/nix/store/t'), '/nix/store/t/bin/switch-to-configuration');
    assert.equal(activationProgram('/nix/store/t', 'x'), '/nix/store/t/specialisation/x/bin/switch-to-configuration');
  });
});

describe('configuration revisions', () => {
  it('reads commits, dirty commits, and refuses the rest', () => {
    assert.deepEqual(parseRevision('0123456789abcdef0123456789abcdef01234567'), {
      commit: '0123456789abcdef0123456789abcdef01234567',
      dirty: false,
    });
    assert.deepEqual(parseRevision('abcdef1-dirty'), { commit: 'abcdef1', dirty: true });
    assert.equal(parseRevision('dirty'), null);
    assert.equal(parseRevision('--upload-pack=evil'), null);
    assert.equal(parseRevision('HEAD~1'), null);
    assert.equal(parseRevision(null), null);
  });
});

describe('scripts run as task text', () => {
  it('hold no ${ (VS Code substitutes it in task arguments, and task values refuse it)', () => {
    for (const [name, text] of [
      ['switch', SWITCH_GENERATION_SCRIPT],
      ['clean', CLEAN_SCRIPT],
      ['nom pipeline', NOM_PIPELINE_SCRIPT],
    ] as const) {
      assert.equal(text.includes('${'), false, `${name} script`);
      assert.equal(taskValueProblem(`the ${name} script`, text), null);
    }
  });
});
