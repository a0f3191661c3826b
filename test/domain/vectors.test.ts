/**
 * Runs every normative vector of test/fixtures/test-vectors.json (a copy of shared/docs/test-vectors.json)
 * against its implementation, with the fixture's own tolerance rule.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as domain from '../../src/domain/index.js';
import * as backtestEngine from '../../src/backtest/engine.js';

type Vector = { name: string; input: unknown; expected: unknown };
type Meta = {
  tolerance: { relative: number; absolute: number };
  counts: Record<string, number>;
  total: number;
};

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/test-vectors.json', import.meta.url), 'utf8'),
) as Record<string, unknown> & { _meta: Meta };
const meta = fixture._meta;
const fixtureKeys = Object.keys(fixture).filter((k) => k !== '_meta');

type Impl = (input: never) => unknown;

// backtestHarvester is owned by the backtest engine; looked up by name so a missing export fails its vectors
// instead of breaking the whole file.
const backtestHarvester = (backtestEngine as unknown as Record<string, unknown>)['backtestHarvester'];

/** Explicit key -> function map: a fixture key without an entry fails below. */
const IMPLEMENTATIONS: Record<string, Impl | undefined> = {
  annualize: domain.annualize,
  normalizeRate: domain.normalizeRate,
  premiumIndex: domain.premiumIndex,
  fundingRateBinance: domain.fundingRateBinance,
  fundingRateHyperliquid: domain.fundingRateHyperliquid,
  fundingRateOkx: domain.fundingRateOkx,
  fundingRateDydx: domain.fundingRateDydx,
  fundingPayment: domain.fundingPayment,
  nextFundingTime: domain.nextFundingTime,
  basis: domain.basis,
  annualizedBasis: domain.annualizedBasis,
  zScore: domain.zScore,
  basisSignal: domain.basisSignal,
  liqPriceIsolated: domain.liqPriceIsolated,
  maintenanceAmounts: domain.maintenanceAmounts,
  liqPriceTiered: domain.liqPriceTiered,
  liqBuffer: domain.liqBuffer,
  riskSize: domain.riskSize,
  kelly: domain.kelly,
  roundToStep: domain.roundToStep,
  roundOrder: domain.roundOrder,
  oiQuadrant: domain.oiQuadrant,
  cascadeSeedRule: domain.cascadeSeedRule,
  cascadeLevel: domain.cascadeLevel,
  cascadeAlertGate: domain.cascadeAlertGate,
  fundingAgainstClose: domain.fundingAgainstClose,
  harvesterDecision: domain.harvesterDecision,
  hedgePnl: domain.hedgePnl,
  orderChecks: domain.orderChecks,
  backtestHarvester: typeof backtestHarvester === 'function' ? (backtestHarvester as Impl) : undefined,
};

/** Mismatches between actual and expected under the fixture's rule, as `path: reason` lines. */
function compare(actual: unknown, expected: unknown, path = '$'): string[] {
  if (typeof expected === 'number') {
    if (typeof actual !== 'number') return [`${path}: expected number ${expected}, got ${JSON.stringify(actual)}`];
    const tol = Math.max(meta.tolerance.absolute, meta.tolerance.relative * Math.abs(expected));
    return Math.abs(actual - expected) <= tol ? [] : [`${path}: expected ${expected}, got ${actual}`];
  }
  if (expected === null || typeof expected === 'string' || typeof expected === 'boolean') {
    return actual === expected ? [] : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected an array, got ${JSON.stringify(actual)}`];
    if (actual.length !== expected.length) return [`${path}: expected length ${expected.length}, got ${actual.length}`];
    return expected.flatMap((e, i) => compare(actual[i], e, `${path}[${i}]`));
  }
  if (typeof expected === 'object') {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) {
      return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
    }
    const a = actual as Record<string, unknown>;
    return Object.entries(expected).flatMap(([k, e]) =>
      k in a ? compare(a[k], e, `${path}.${k}`) : [`${path}.${k}: missing`],
    );
  }
  return [`${path}: unsupported expected value ${String(expected)}`];
}

/** §0: results never carry NaN, Infinity or -0, however deep. */
function badNumbers(x: unknown, path = '$'): string[] {
  if (typeof x === 'number') {
    return Number.isFinite(x) && !Object.is(x, -0) ? [] : [`${path}: ${Object.is(x, -0) ? '-0' : String(x)}`];
  }
  if (Array.isArray(x)) return x.flatMap((v, i) => badNumbers(v, `${path}[${i}]`));
  if (typeof x === 'object' && x !== null) return Object.entries(x).flatMap(([k, v]) => badNumbers(v, `${path}.${k}`));
  return [];
}

let executed = 0;

describe('domain test vectors', () => {
  it('maps every fixture key to an implementation and nothing else', () => {
    expect(Object.keys(IMPLEMENTATIONS).sort()).toEqual([...fixtureKeys].sort());
  });

  for (const key of fixtureKeys) {
    const vectors = fixture[key] as Vector[];

    describe(key, () => {
      it(`holds the ${meta.counts[key]} vectors the fixture declares`, () => {
        expect(vectors).toHaveLength(meta.counts[key] ?? -1);
      });

      for (const v of vectors) {
        it(v.name, () => {
          executed += 1;
          const fn = IMPLEMENTATIONS[key];
          if (fn === undefined) throw new Error(`no implementation exported for ${key}`);
          const actual = fn(structuredClone(v.input) as never);
          expect(compare(actual, v.expected)).toEqual([]);
          expect(badNumbers(actual)).toEqual([]);
        });
      }
    });
  }

  // Declared last, so it runs after every vector above (tests in a file run in order).
  it('executed exactly _meta.total vectors', () => {
    expect(executed).toBe(meta.total);
  });
});
