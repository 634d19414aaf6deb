import assert from 'node:assert/strict';
import {
  asCall,
  collectBindings,
  constantValue,
  findAttrBindings,
  findCalls,
  flakeOutputs,
  getAttr,
  lambdaInfo,
  nodeText,
  parse,
  resolveVariable,
  rootExpr,
  setEntries,
  unparen,
  type SyntaxNode,
} from '../../../src/core/nix';

function tree(text: string): SyntaxNode {
  const { root, errors } = parse(text);
  assert.deepEqual(errors, []);
  return root;
}

function constOf(text: string): unknown {
  const v = constantValue(rootExpr(tree(text)));
  return v ? [v.kind, v.value] : undefined;
}

const STATE_VERSION = ['system', 'stateVersion'];

describe('nix queries', () => {
  describe('constantValue', () => {
    it('numbers, booleans, null, URIs', () => {
      assert.deepEqual(constOf('42'), ['number', 42]);
      assert.deepEqual(constOf('-1.5'), ['number', -1.5]);
      assert.deepEqual(constOf('(7)'), ['number', 7]);
      assert.deepEqual(constOf('1 + 2'), ['number', 3]);
      assert.deepEqual(constOf('true'), ['bool', true]);
      assert.deepEqual(constOf('false'), ['bool', false]);
      assert.deepEqual(constOf('null'), ['null', null]);
      assert.deepEqual(constOf('http://x.org/a'), ['string', 'http://x.org/a']);
    });

    it('strings with escapes, literal concatenation and constant interpolation', () => {
      assert.deepEqual(constOf('"24.05"'), ['string', '24.05']);
      assert.deepEqual(constOf('"24" + ".05"'), ['string', '24.05']);
      assert.deepEqual(constOf('("2" + "4") + ("." + "05")'), ['string', '24.05']);
      assert.deepEqual(constOf('"a\\nb\\t\\"\\$\\q"'), ['string', 'a\nb\t"$q']);
      assert.deepEqual(constOf('"a$${b}"'), ['string', 'a$${b}']);
      assert.deepEqual(constOf('"x${"y"}z"'), ['string', 'xyz']);
      assert.deepEqual(constOf('"line\r\nnext"'), ['string', 'line\nnext']);
    });

    it("indented strings: indentation stripped, '' escapes decoded, as Nix does", () => {
      assert.deepEqual(constOf("''\n    a\n      b\n    c\n  ''"), ['string', 'a\n  b\nc\n']);
      assert.deepEqual(constOf("''a ''${x} '''b ''\\n''"), ['string', "a ${x} ''b \n"]);
      assert.deepEqual(constOf("''\n  x ''$\n''"), ['string', 'x $\n']);
      assert.deepEqual(constOf("''''"), ['string', '']);
    });

    it('undefined for anything not constant', () => {
      for (const text of ['x', '"a${x}"', 'x + "a"', 'f 1', '[ 1 ]', '{ }', '"a" + 1', '-"a"', './p', 'a.b']) {
        assert.equal(constOf(text), undefined, text);
      }
    });
  });

  describe('findAttrBindings', () => {
    it('finds every spelling of system.stateVersion in a module', () => {
      const text = [
        '{ config, lib, pkgs, ... }:',
        'let sv = "24" + ".05"; in {',
        '  system.stateVersion = lib.mkDefault sv;',
        '  system = { stateVersion = lib.mkForce "23.11"; };',
        '  config.system.stateVersion = lib.mkOverride 50 "22.05";',
        '  config = lib.mkIf true { system.stateVersion = "21.11"; };',
        '  config.system = { stateVersion = ("20" + ".09"); };',
        '  other.system.stateVersion = "no";',
        '  system."stateVersion" = "19.09";',
        '}',
      ].join('\n');
      const root = tree(text);
      const found = findAttrBindings(root, STATE_VERSION);
      assert.deepEqual(
        found.map((b) => nodeText(b.key)),
        [
          'system.stateVersion',
          'stateVersion',
          'config.system.stateVersion',
          'system.stateVersion',
          'stateVersion',
          'system."stateVersion"',
        ],
      );
      assert.deepEqual(
        found.map((b) => b.wrappers.map((w) => `${w.callee}${w.priority !== undefined ? ` ${w.priority}` : ''}`)),
        [['lib.mkDefault'], ['lib.mkForce'], ['lib.mkOverride 50'], [], [], []],
      );
      assert.deepEqual(
        found.map((b) => [b.viaConfig, b.viaNested]),
        [
          [false, false],
          [false, true],
          [true, false],
          [true, false],
          [true, true],
          [false, false],
        ],
      );
      // The first value is a variable: resolved through the let binding.
      assert.equal(found[0]!.source?.kind, 'let');
      assert.deepEqual(constantValue(found[0]!.source?.value), { kind: 'string', value: '24.05' });
      assert.deepEqual(constantValue(found[0]!.resolvedValue), { kind: 'string', value: '24.05' });
      assert.deepEqual(
        found.slice(1).map((b) => constantValue(b.value)?.value),
        ['23.11', '22.05', '21.11', '20.09', '19.09'],
      );
      // Key ranges are exact.
      for (const b of found) assert.equal(text.slice(b.keyStart, b.keyEnd), nodeText(b.key));
    });

    it('resolves inherit through let bindings and function arguments', () => {
      const root = tree(
        '{ stateVersion ? "23.05", ... }: let a = { inherit stateVersion; }; in { system = a // { }; }',
      );
      // Not a module path (the set is a let value), but collectBindings anywhere sees the inherit.
      const all = collectBindings(root, { anywhere: true }).filter((b) => b.viaInherit);
      assert.equal(all.length, 1);
      assert.equal(all[0]!.source?.kind, 'argument');
      assert.deepEqual(constantValue(all[0]!.value), { kind: 'string', value: '23.05' });

      const root2 = tree('let stateVersion = "24.11"; in { system = { inherit stateVersion; }; }');
      const [b] = findAttrBindings(root2, STATE_VERSION);
      assert.ok(b);
      assert.equal(b.viaInherit, true);
      assert.equal(b.source?.kind, 'let');
      assert.deepEqual(constantValue(b.value), { kind: 'string', value: '24.11' });

      const root3 = tree('pkgs: { system = { inherit (pkgs.lib) stateVersion; }; }');
      const [c] = findAttrBindings(root3, STATE_VERSION);
      assert.ok(c);
      assert.equal(nodeText(c.inheritFrom!), 'pkgs.lib');
    });

    it('looks through mkMerge, mkIf, let and with at the top, and finds flake modules with `anywhere`', () => {
      const root = tree(
        '{ lib, ... }: with lib; mkMerge [ { system.stateVersion = "1"; } (mkIf true { system.stateVersion = "2"; }) ]',
      );
      assert.deepEqual(
        findAttrBindings(root, STATE_VERSION).map((b) => constantValue(b.value)?.value),
        ['1', '2'],
      );
      const flake = tree(
        '{ outputs = { self, nixpkgs }: { nixosConfigurations.h = nixpkgs.lib.nixosSystem { modules = [ { system.stateVersion = "24.05"; } ]; }; }; }',
      );
      assert.equal(findAttrBindings(flake, STATE_VERSION).length, 0);
      assert.deepEqual(
        findAttrBindings(flake, STATE_VERSION, { anywhere: true }).map((b) => constantValue(b.value)?.value),
        ['24.05'],
      );
    });

    it('follows a set bound to a let variable in the same file', () => {
      const root = tree('let sys = { stateVersion = lib.mkDefault "23.05"; }; in { system = sys; }');
      const [b] = findAttrBindings(root, STATE_VERSION);
      assert.ok(b);
      assert.deepEqual(constantValue(b.value), { kind: 'string', value: '23.05' });
      assert.deepEqual(
        b.wrappers.map((w) => w.name),
        ['mkDefault'],
      );
      const twice = tree('let s = { x = 1; }; in { a = s; b = s; }');
      assert.deepEqual(
        collectBindings(twice).map((x) => x.path.join('.')),
        ['a', 'a.x', 'b', 'b.x'],
      );
      // A cycle does not loop.
      assert.equal(findAttrBindings(tree('let a = b; b = a; in { system = a; }'), STATE_VERSION).length, 0);
    });

    it('service detection: enable = true and the package binding', () => {
      const root = tree(
        '{ pkgs, ... }: { services.postgresql = { enable = true; package = pkgs.postgresql_15; }; services.nginx.enable = lib.mkForce true; }',
      );
      const enabled = collectBindings(root)
        .filter((b) => b.path.length === 3 && b.path[0] === 'services' && b.path[2] === 'enable')
        .map((b) => [b.path[1], constantValue(b.value)?.value]);
      assert.deepEqual(enabled, [
        ['postgresql', true],
        ['nginx', true],
      ]);
      const [pkg] = findAttrBindings(root, ['services', 'postgresql', 'package']);
      assert.equal(nodeText(pkg!.value!), 'pkgs.postgresql_15');
    });

    it('dynamic names never match; broken files still answer', () => {
      const root = tree('x: { ${x}.stateVersion = "1"; system.${x} = "2"; }');
      assert.equal(findAttrBindings(root, STATE_VERSION).length, 0);
      const broken = parse('{ system.stateVersion = "24.05"; services = {');
      assert.ok(broken.errors.length > 0);
      assert.deepEqual(
        findAttrBindings(broken.root, STATE_VERSION).map((b) => constantValue(b.value)?.value),
        ['24.05'],
      );
    });
  });

  describe('sets, calls, lambdas, flakes', () => {
    it('setEntries, getAttr through nested sets', () => {
      const root = tree('{ a.b = { c = 1; }; inherit x; d = 2; }');
      const set = unparen(rootExpr(root))!;
      assert.deepEqual(
        setEntries(set).map((e) => [e.path, e.inherited]),
        [
          [['a', 'b'], false],
          [['x'], true],
          [['d'], false],
        ],
      );
      assert.equal(nodeText(getAttr(set, ['a', 'b', 'c'])!.value!), '1');
      assert.equal(getAttr(set, ['a', 'x']), undefined);
    });

    it('the pin edit: nixosSystem calls, their modules list, and the outputs formals', () => {
      const text =
        '{\n  inputs.nixpkgs.url = "github:NixOS/nixpkgs";\n  outputs = { nixpkgs, ... }@inputs: {\n    nixosConfigurations.a = nixpkgs.lib.nixosSystem {\n      modules = [ ./configuration.nix ];\n    };\n  };\n}\n';
      const root = tree(text);
      const calls = findCalls(root, 'nixosSystem');
      assert.equal(calls.length, 1);
      assert.equal(calls[0]!.callee, 'nixpkgs.lib.nixosSystem');
      const arg = unparen(calls[0]!.args[0])!;
      const modules = getAttr(arg, ['modules'])!.value!;
      assert.equal(modules.kind, 'List');
      const outputs = flakeOutputs(root)!;
      assert.deepEqual(
        outputs.formals.map((f) => f.name),
        ['nixpkgs'],
      );
      assert.equal(outputs.ellipsis, true);
      assert.equal(outputs.bind, 'inputs');
      assert.equal(text.slice(outputs.openBrace!.start, outputs.closeBrace!.end), '{ nixpkgs, ... }');
    });

    it('asCall flattens applications; lambdaInfo describes parameters', () => {
      const call = asCall(rootExpr(tree('lib.mkOverride 50 (f x)')))!;
      assert.equal(call.callee, 'lib.mkOverride');
      assert.equal(call.name, 'mkOverride');
      assert.deepEqual(
        call.args.map((a) => nodeText(a)),
        ['50', '(f x)'],
      );
      const info = lambdaInfo(rootExpr(tree('{ a, b ? 2 }: a'))!)!;
      assert.deepEqual(
        info.formals.map((f) => [f.name, f.defaultValue && nodeText(f.defaultValue)]),
        [
          ['a', undefined],
          ['b', '2'],
        ],
      );
      assert.equal(info.ellipsis, false);
      assert.equal(lambdaInfo(rootExpr(tree('x: x'))!)!.param, 'x');
    });

    it('resolveVariable: let, rec, arguments, with, builtins', () => {
      const root = tree('{ a, ... }: let b = 1; in rec { c = 2; d = [ a b c e builtins ]; } // (with x; { f = g; })');
      const idents: Record<string, SyntaxNode> = {};
      const visit = (n: SyntaxNode): void => {
        if (n.kind === 'Ident') idents[nodeText(n)] = n;
        for (const c of n.children) if (!c.isToken) visit(c);
      };
      visit(root);
      const kind = (name: string): string => resolveVariable(name, idents[name]!).kind;
      assert.equal(kind('a'), 'argument');
      assert.equal(kind('b'), 'let');
      assert.equal(kind('c'), 'rec');
      assert.equal(kind('e'), 'unresolved');
      assert.equal(kind('builtins'), 'builtin');
      assert.equal(kind('g'), 'with');
    });
  });
});

describe('nix tree navigation', () => {
  it('tokenAt and nodeCovering find what is under an offset', async () => {
    const { tokenAt, nodeCovering } = await import('../../../src/core/nix');
    const text = '{ a = [ 1 2 ]; }';
    const root = tree(text);
    assert.equal(tokenAt(root, text.indexOf('2'))!.text, '2');
    assert.equal(tokenAt(root, 1)!.kind, 'Whitespace');
    assert.equal(tokenAt(root, text.length), undefined);
    assert.equal(nodeCovering(root, text.indexOf('1'), text.indexOf('2') + 1).kind, 'List');
    assert.equal(nodeCovering(root, text.indexOf('a')).kind, 'Ident');
  });

  it('findInsertionSet: the deepest existing set for a new binding', async () => {
    const { findInsertionSet } = await import('../../../src/core/nix');
    const root = tree('{ lib, ... }: { system = { stateVersion = "24.05"; }; boot.loader = { }; }');
    const p = findInsertionSet(root, ['system', 'nixos', 'label'])!;
    assert.deepEqual([p.prefix, p.rest], [['system'], ['nixos', 'label']]);
    assert.equal(nodeText(p.set), '{ stateVersion = "24.05"; }');
    const q = findInsertionSet(root, ['networking', 'hostName'])!;
    assert.deepEqual([q.prefix, q.rest], [[], ['networking', 'hostName']]);
    assert.ok(nodeText(q.set).startsWith('{ system'));
    const r = findInsertionSet(root, ['boot', 'loader', 'grub'])!;
    assert.deepEqual(r.prefix, ['boot', 'loader']);
  });
});
