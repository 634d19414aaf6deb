import assert from 'node:assert/strict';
import { describeFilter, matchesFilter, parseFilter, type GenerationFilter } from '../../../src/core/plan/filter';
import { gen } from '../../lib/samples';

const parsed = (text: string): GenerationFilter => {
  const r = parseFilter(text);
  if ('error' in r) throw new Error(r.error);
  return r.filter;
};

describe('generation filter (the explorer over a long history)', () => {
  const history = [
    gen(3, { date: '2024-01-10T08:00:00Z', nixosVersion: '23.11.20240101.aaaaaaa', kernelVersion: '6.1.70' }),
    gen(12, { date: '2024-05-02T08:00:00Z', nixosVersion: '24.05.20240501.bbbbbbb', kernelVersion: '6.6.30' }),
    gen(15, {
      date: '2024-06-30T23:00:00Z',
      nixosVersion: '24.05.20240601.ccccccc',
      configurationRevision: 'deadbeef'.repeat(5),
      specialisations: ['no-gpu'],
    }),
  ];
  const pass = (text: string): number[] =>
    history.filter((g) => matchesFilter(g, parsed(text))).map((g) => g.generation);

  it('by number and range, by day (inclusive), by text, all terms together', () => {
    assert.deepEqual(pass('12'), [12]);
    assert.deepEqual(pass('20-10'), [12, 15]);
    assert.deepEqual(pass('since:2024-05-02'), [12, 15]);
    assert.deepEqual(pass('until:2024-06-30'), [3, 12, 15]);
    assert.deepEqual(pass('24.05 since:2024-06-01'), [15]);
    assert.deepEqual(pass('6.6'), [12]);
    assert.deepEqual(pass('DEADBEEF'), [15], 'a commit, case-insensitive');
    assert.deepEqual(pass('no-gpu'), [15]);
    assert.deepEqual(pass('1-5 24.05'), []);
    assert.deepEqual(pass(''), [3, 12, 15]);
  });

  it('says what is wrong instead of filtering nothing', () => {
    assert.deepEqual(parseFilter('since:yesterday'), {
      error: 'since:yesterday: write the day as YYYY-MM-DD (since:2024-05-01)',
    });
    assert.deepEqual(parseFilter('since:2024-06-01 until:2024-05-01'), {
      error: 'since:2024-06-01 is after until:2024-05-01',
    });
  });

  it("shows what was typed and how many rows are left in the view's description", () => {
    assert.equal(describeFilter(parsed(' 24.05  '), 2, 30), 'filter: 24.05 (2 of 30)');
  });
});
