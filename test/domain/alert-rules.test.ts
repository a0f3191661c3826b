/** The `/alert` rule grammar and the hysteresis that makes a rule fire once per crossing. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatRule, parseRule, rearmMargin, ruleHolds, ruleRearms, stepRule, RULE_EXAMPLES, type AlertRule,
} from '../../src/domain/alert-rules.js';

const symbol = fc.stringMatching(/^[A-Z0-9]{1,6}(-PERP)?$/);
const venue = fc.option(fc.stringMatching(/^[a-z0-9]{2,12}$/), { nil: undefined });
const target = fc.record({ symbol, venue }).map(({ symbol: s, venue: v }) => (v === undefined ? { symbol: s } : { symbol: s, venue: v }));
const op = fc.constantFrom('>' as const, '<' as const);
const finite = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x));
const windowMinutes = fc.oneof(fc.integer({ min: 5, max: 360 }), fc.integer({ min: 1, max: 6 }).map((h) => h * 60));

const rule: fc.Arbitrary<AlertRule> = fc.oneof(
  fc.record({ metric: fc.constantFrom('funding' as const, 'funding_apr' as const), target, op, threshold: finite(-1e3, 1e3) }),
  fc.record({ metric: fc.constant('price' as const), target, op, threshold: finite(1e-6, 1e7).filter((x) => x > 0) }),
  fc.record({ metric: fc.constant('buffer' as const), op, threshold: finite(1e-6, 99.999).filter((x) => x > 0 && x < 100) }),
  fc.record({ metric: fc.constant('oi' as const), target, windowMinutes, op, threshold: finite(-99.99, 1e4) }),
);

describe('parseRule / formatRule', () => {
  it('reads every example of the usage', () => {
    for (const e of RULE_EXAMPLES) expect(parseRule(e)).toMatchObject({ ok: true });
    expect(parseRule('funding BTC-PERP > 0.05%')).toEqual({ ok: true, rule: { metric: 'funding', target: { symbol: 'BTC-PERP' }, op: '>', threshold: 0.05 } });
    expect(parseRule('funding btc apr > 30%')).toEqual({ ok: true, rule: { metric: 'funding_apr', target: { symbol: 'btc' }, op: '>', threshold: 30 } });
    expect(parseRule('price ETH-PERP < 3000')).toEqual({ ok: true, rule: { metric: 'price', target: { symbol: 'ETH-PERP' }, op: '<', threshold: 3000 } });
    expect(parseRule('buffer < 12%')).toEqual({ ok: true, rule: { metric: 'buffer', op: '<', threshold: 12 } });
    expect(parseRule('oi BTC-PERP 1h < -5%')).toEqual({ ok: true, rule: { metric: 'oi', target: { symbol: 'BTC-PERP' }, windowMinutes: 60, op: '<', threshold: -5 } });
  });

  it('takes operators without spaces and keywords in any case, and a venue after @', () => {
    expect(parseRule('PRICE eth<3000')).toMatchObject({ ok: true, rule: { metric: 'price', op: '<', threshold: 3000 } });
    expect(parseRule('Funding BTC-PERP@Bybit APR>30%')).toEqual({ ok: true, rule: { metric: 'funding_apr', target: { symbol: 'BTC-PERP', venue: 'bybit' }, op: '>', threshold: 30 } });
  });

  it.each([
    ['', /empty/],
    ['temperature BTC > 5', /starts with funding, price, buffer or oi/],
    ['funding BTC-PERP >= 0.05%', /> or </],
    ['funding BTC-PERP = 0.05%', /> or <, not "="/],
    ['funding BTC-PERP > 0.05', /needs a %/],
    ['funding BTC-PERP > abc%', /not a number/],
    ['funding BTC-PERP > NaN%', /not a number/],
    ['funding BTC-PERP > 1e999%', /not a finite number/],
    ['price ETH-PERP < 3000%', /without %/],
    ['price ETH-PERP < -5', /more than 0/],
    ['price ETH-PERP 3000', /> or </],
    ['price', /symbol is missing/],
    ['price ET$H < 3', /not a symbol/],
    ['price ETH@ < 3', /not a venue id/],
    ['buffer BTC-PERP < 12%', /without a symbol/],
    ['buffer < 120%', /between 0% and 100%/],
    ['oi BTC-PERP < -5%', /window/],
    ['oi BTC-PERP 2d < -5%', /window/],
    ['oi BTC-PERP 12h < -5%', /between 5m and 6h/],
    ['oi BTC-PERP 1h < -100%', /100%/],
    ['price ETH-PERP < 3000 please', /unexpected "please"/],
  ])('refuses %j with a reason', (text, why) => {
    const p = parseRule(text);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.error).toMatch(why);
  });

  it('prints every rule as text that reads back as the same rule', () => {
    fc.assert(fc.property(rule, (r) => {
      expect(parseRule(formatRule(r))).toEqual({ ok: true, rule: r });
    }), { numRuns: 2000 });
  });

  it('reads text with any spacing and keyword case as its canonical rule, and the canonical text is a fixed point', () => {
    const spaced = fc.tuple(rule, fc.array(fc.constantFrom(' ', '  ', '\t'), { minLength: 12, maxLength: 12 }), fc.boolean());
    fc.assert(fc.property(spaced, ([r, gaps, upper]) => {
      const canonical = formatRule(r);
      let n = 0;
      let text = canonical.replace(/ /g, () => gaps[n++ % gaps.length]!);
      if (upper) text = text.replace(/^(\w+)/, (w) => w.toUpperCase()).replace(/ apr /, ' APR ');
      const p = parseRule(`  ${text} `);
      expect(p).toEqual({ ok: true, rule: r });
      if (p.ok) expect(formatRule(p.rule)).toBe(canonical);
    }), { numRuns: 1000 });
  });

  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => {
      const p = parseRule(s);
      expect(typeof p.ok).toBe('boolean');
    }), { numRuns: 3000 });
  });
});

describe('stepRule (hysteresis)', () => {
  it('fires once per crossing: not again until the value went back past the margin', () => {
    const r = { metric: 'price' as const, op: '<' as const, threshold: 3000 };
    expect(rearmMargin(r)).toBeCloseTo(15);
    const path = [3100, 2990, 2950, 3010, 2980, 3015, 3100, 2999];
    let armed = true;
    const fired: number[] = [];
    for (const v of path) {
      const s = stepRule(r, armed, v);
      if (s.fire) fired.push(v);
      armed = s.armed;
    }
    // 2990 fires; 3010 is inside the margin, so 2980 does not; 3015 re-arms; 2999 fires.
    expect(fired).toEqual([2990, 2999]);
  });

  it('keeps its state when the value is missing', () => {
    expect(stepRule({ metric: 'buffer', op: '<', threshold: 12 }, true, null)).toEqual({ armed: true, fire: false });
    expect(stepRule({ metric: 'buffer', op: '<', threshold: 12 }, false, Number.NaN)).toEqual({ armed: false, fire: false });
  });

  it('fires exactly at the samples where the condition holds and the rule was re-armed since the last firing', () => {
    const value = fc.option(finite(-2e3, 2e3), { nil: null, freq: 8 });
    fc.assert(fc.property(rule, fc.array(value, { maxLength: 60 }), (r, path) => {
      // Scale values around the threshold so crossings and the band are actually visited.
      const m = rearmMargin(r);
      const vs = path.map((v) => (v === null ? null : r.threshold + (v / 2e3) * 4 * m));
      let armed = true;
      const fired: number[] = [];
      vs.forEach((v, i) => {
        const s = stepRule(r, armed, v);
        if (s.fire) fired.push(i);
        armed = s.armed;
      });
      // Independent statement of the rule over indices.
      const expected: number[] = [];
      let last = -1;
      vs.forEach((v, i) => {
        if (v === null || !ruleHolds(r, v)) return;
        const rearmed = last < 0 || vs.slice(last + 1, i).some((x) => x !== null && ruleRearms(r, x));
        if (rearmed) {
          expected.push(i);
          last = i;
        }
      });
      expect(fired).toEqual(expected);
      for (const i of fired) expect(ruleHolds(r, vs[i]!)).toBe(true);
    }), { numRuns: 3000 });
  });
});
