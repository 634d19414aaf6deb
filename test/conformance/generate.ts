/**
 * Random Nix programs from a small grammar (every construct, operators mixed at random, then half of them
 * broken by inserting or deleting one token), for the comparison with Nix: deterministic for a given seed.
 */
import { random } from './compare';

export function generatePrograms(count: number, seed: number): string[] {
  const rand = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const vars = ['a', 'b', 'c', 'f', 'x'];
  const str = (): string =>
    pick(['"s"', '""', '"a${x}b"', '"${a}"', "''i''", "''\n  l ${b}\n''", '"\\n$"', '"$${x}"', "''a''${b}''"]);
  const simple = (d: number): string => {
    const r = rand();
    if (d > 4 || r < 0.3) {
      return pick([
        ...vars,
        '1',
        '2.5',
        'true',
        'null',
        './p',
        './p/${a}',
        '<n>',
        'http://u',
        str(),
        '__curPos',
        'a.b',
      ]);
    }
    if (r < 0.4) return `(${expr(d + 1)})`;
    if (r < 0.5) return `[ ${Array.from({ length: Math.floor(rand() * 3) }, () => select(d + 1)).join(' ')} ]`;
    if (r < 0.65) return `${rand() < 0.2 ? 'rec ' : ''}{ ${binds(d + 1)}}`;
    if (r < 0.7) return `let { ${binds(d + 1)}body = 1; }`;
    return pick([...vars, '1', str()]);
  };
  const binds = (d: number): string => {
    let s = '';
    const n = Math.floor(rand() * 3);
    for (let i = 0; i < n; i++) {
      if (rand() < 0.15) s += `inherit ${pick(['a', 'a b', '(a) c d', '"a"', '(a) "q"'])}; `;
      else s += `${pick(['k', 'k.l', '"q"', '${"z"}', 'or', 'm.${"n"}', `k${i}`])} = ${expr(d + 1)}; `;
    }
    return s;
  };
  const select = (d: number): string => {
    const s = simple(d);
    if (rand() < 0.15) {
      return `${s}.${pick(['k', '"k"', 'k.l', '${"k"}', 'or'])}${rand() < 0.5 ? ` or ${simple(d + 1)}` : ''}`;
    }
    return s;
  };
  const app = (d: number): string => {
    let s = select(d);
    while (rand() < 0.2) s += ` ${select(d + 1)}`;
    return s;
  };
  const ops = ['+', '-', '*', '/', '++', '//', '==', '!=', '<', '<=', '>', '>=', '&&', '||', '->', '?', '|>', '<|'];
  const op = (d: number): string => {
    let s = (rand() < 0.15 ? pick(['!', '-']) : '') + app(d);
    for (let n = 0; rand() < 0.35 && n < 4; n++) {
      const o = pick(ops);
      if (o === '?') s += ` ? ${pick(['k', 'k.l', '"k"'])}`;
      else s += ` ${o} ${rand() < 0.1 ? pick(['!', '-']) : ''}${app(d + 1)}`;
    }
    return s;
  };
  const expr = (d: number): string => {
    const r = rand();
    if (d > 5) return op(d);
    if (r < 0.08) return `x: ${expr(d + 1)}`;
    if (r < 0.14)
      return pick(['{ a, b ? 1, ... }: ', '{ }: ', '{ a }@x: ', 'x@{ a, ... }: ', '{ a, }: ']) + expr(d + 1);
    if (r < 0.2) return `let ${binds(d + 1)}in ${expr(d + 1)}`;
    if (r < 0.24) return `with ${expr(d + 1)}; ${expr(d + 1)}`;
    if (r < 0.27) return `assert ${expr(d + 1)}; ${expr(d + 1)}`;
    if (r < 0.33) return `if ${expr(d + 1)} then ${expr(d + 1)} else ${expr(d + 1)}`;
    return op(d);
  };
  const breakers = [
    '(',
    ')',
    '{',
    '}',
    ';',
    '=',
    '.',
    'or',
    ':',
    '?',
    '[',
    ']',
    '-',
    '!',
    'in',
    'then',
    'else',
    '"',
    '${',
  ];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let text = `{ a, b, c, f, x, ... }: ${expr(0)}`;
    if (rand() < 0.5) {
      const words = text.split(' ');
      const k = Math.floor(rand() * words.length);
      if (rand() < 0.5) words.splice(k, 1);
      else words.splice(k, 0, pick(breakers));
      text = words.join(' ');
    }
    out.push(`${text}\n`);
  }
  return out;
}
