import assert from 'node:assert/strict';
import { taskProblem, taskValueProblem } from '../../../src/core/exec/task-values';
import { validateHost } from '../../../src/core/target';

describe('task values: nothing VS Code would substitute reaches a task', () => {
  it('refuses ${ in the program, any argument, the working folder and the environment, naming which', () => {
    const hostile = ['${env:HOME}', 'h-${input:x}', '${config:nixosGenerations.host}', '${command:workbench.action.x}'];
    for (const v of hostile) {
      assert.match(taskProblem({ argv: [v] }) ?? '', /the program .*contains "\$\{"/);
      assert.match(taskProblem({ argv: ['nixos-rebuild', 'switch', `/ws#${v}`] }) ?? '', /argument 2 /);
      assert.match(taskProblem({ argv: ['x'], cwd: `/ws/${v}` }) ?? '', /the working folder/);
      assert.match(taskProblem({ argv: ['x'], env: { NIX_PATH: v } }) ?? '', /environment variable NIX_PATH/);
      assert.match(validateHost(v) ?? '', /contains "\$\{"/);
    }
    assert.match(taskValueProblem('the host', 'a${b}') ?? '', /^the host "a\$\{b\}" contains/);
  });

  it('lets through everything else, shell syntax included (tasks run without a shell)', () => {
    const words = ['$HOME', '$(id)', '`id`', "it's", '"q"', '\\', '$', '{a}', '$ {x}', '%PATH%', ''];
    assert.equal(taskProblem({ argv: ['prog', ...words], cwd: '/a $b', env: { A: '$B' } }), null);
    assert.equal(validateHost('admin@web1.example'), null);
  });
});
