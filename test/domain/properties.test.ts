/** Property tests for the invariants the money paths rely on, beyond the fixed vectors. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as domain from '../../src/domain/index.js';
import {
  fundingPayment,
  isDomainError,
  liqBuffer,
  liqPriceIsolated,
  resolveSymbol,
  riskSize,
  roundOrder,
  roundToStep,
  unwrap,
} from '../../src/domain/index.js';

const STEPS = [1e-8, 0.00001, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 10] as const;
const step = fc.constantFrom(...STEPS);
const amount = (max: number): fc.Arbitrary<number> =>
  fc.double({ min: 0, max, noNaN: true, noDefaultInfinity: true });
const price = fc.double({ min: 0.01, max: 1e6, noNaN: true, noDefaultInfinity: true });

/** Float slack for "is a multiple of step": the result is the nearest double to an exact multiple. */
function isMultiple(x: number, s: number): boolean {
  return Math.abs(x - Math.round(x / s) * s) <= 1e-12 * Math.max(1, Math.abs(x));
}

describe('roundToStep', () => {
  it('rounds down to a multiple of step that never exceeds the value beyond float noise', () => {
    fc.assert(
      fc.property(amount(1e6), step, (value, s) => {
        const r = unwrap(roundToStep({ value, step: s, mode: 'down' }));
        expect(isMultiple(r, s)).toBe(true);
        expect(r).toBeLessThanOrEqual(value + 1e-9 * s + 1e-12 * value);
        expect(r).toBeGreaterThan(value - s - 1e-9 * s);
      }),
    );
  });

  it('rounds up to a multiple of step that is never below the value beyond float noise', () => {
    fc.assert(
      fc.property(amount(1e6), step, (value, s) => {
        const r = unwrap(roundToStep({ value, step: s, mode: 'up' }));
        expect(isMultiple(r, s)).toBe(true);
        expect(r).toBeGreaterThanOrEqual(value - 1e-9 * s - 1e-12 * value);
        expect(r).toBeLessThan(value + s + 1e-9 * s);
      }),
    );
  });

  it('leaves a value that already sits on the step unchanged in every mode', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), step, fc.constantFrom('down', 'up', 'nearest'), (k, s, mode) => {
        const onStep = Number((k * s).toFixed(10));
        const r = unwrap(roundToStep({ value: onStep, step: s, mode: mode as 'down' | 'up' | 'nearest' }));
        expect(Math.abs(r - onStep)).toBeLessThanOrEqual(1e-12 * Math.max(1, onStep));
      }),
    );
  });
});

describe('roundOrder', () => {
  it('never exceeds the notional cap and never rounds qty up or the price against the trader', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('long', 'short'),
        amount(100),
        price,
        step,
        step,
        fc.double({ min: 1, max: 1e6, noNaN: true, noDefaultInfinity: true }),
        (side, qty, px, lotSize, tickSize, maxNotional) => {
          const r = roundOrder({ side: side as 'long' | 'short', qty, price: px, lotSize, tickSize, maxNotional });
          if (isDomainError(r)) {
            // Only a price that rounds to zero on its tick is refused.
            expect(r.error).toBe('invalid_price');
            return;
          }
          expect(r.notional).toBeLessThanOrEqual(maxNotional * (1 + 1e-12));
          expect(r.qty).toBeLessThanOrEqual(qty + 1e-9 * lotSize + 1e-12 * qty);
          if (side === 'long') expect(r.price).toBeLessThanOrEqual(px + 1e-9 * tickSize + 1e-12 * px);
          else expect(r.price).toBeGreaterThanOrEqual(px - 1e-9 * tickSize - 1e-12 * px);
          expect(isMultiple(r.qty, lotSize)).toBe(true);
        },
      ),
    );
  });
});

describe('riskSize', () => {
  it('never risks more than equity * riskFraction nor exceeds the leverage and notional caps', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 100, max: 1e6, noNaN: true }),
        fc.double({ min: 0.001, max: 0.05, noNaN: true }),
        fc.constantFrom('long', 'short'),
        price,
        fc.double({ min: 0.001, max: 0.5, noNaN: true }),
        fc.constantFrom(0.001, 0.01, 0.1, 1),
        (equity, riskFraction, side, entry, stopDist, lotSize) => {
          const stop = side === 'long' ? entry * (1 - stopDist) : entry * (1 + stopDist);
          const r = riskSize({ equity, riskFraction, side: side as 'long' | 'short', entry, stop, lotSize });
          if (isDomainError(r)) {
            expect(r.error).toBe('below_min_quantity');
            return;
          }
          const slack = 1 + 1e-9;
          expect(r.riskAmount).toBeLessThanOrEqual(equity * riskFraction * slack);
          expect(r.leverage).toBeLessThanOrEqual(5 * slack);
          expect(r.notional).toBeLessThanOrEqual(10_000 * slack);
          expect(r.qty).toBeGreaterThan(0);
        },
      ),
    );
  });
});

describe('fundingPayment', () => {
  it('makes the payer negative and the receiver positive, and the two sides cancel', () => {
    fc.assert(
      fc.property(
        amount(1000),
        price,
        fc.double({ min: -0.01, max: 0.01, noNaN: true }),
        (size, px, rate) => {
          const long = unwrap(fundingPayment({ side: 'long', size, price: px, rate }));
          const short = unwrap(fundingPayment({ side: 'short', size, price: px, rate }));
          expect(long + short).toBe(0);
          if (size === 0 || rate === 0) {
            expect(Object.is(long, 0) && Object.is(short, 0)).toBe(true);
          } else if (rate > 0) {
            // A positive rate: longs pay shorts.
            expect(long).toBeLessThanOrEqual(0);
            expect(short).toBeGreaterThanOrEqual(0);
          } else {
            expect(long).toBeGreaterThanOrEqual(0);
            expect(short).toBeLessThanOrEqual(0);
          }
          expect(Object.is(long, -0) || Object.is(short, -0)).toBe(false);
        },
      ),
    );
  });
});

describe('liquidation', () => {
  it('puts a long liquidation below entry and a short one above, both within the margin', () => {
    fc.assert(
      fc.property(price, fc.double({ min: 1, max: 100, noNaN: true }), fc.double({ min: 0, max: 0.009, noNaN: true }), (entry, leverage, mmr) => {
        fc.pre(mmr < 1 / leverage - 1e-9);
        const long = unwrap(liqPriceIsolated({ side: 'long', entry, leverage, mmr }));
        const short = unwrap(liqPriceIsolated({ side: 'short', entry, leverage, mmr }));
        if (long !== null) expect(long).toBeLessThan(entry);
        expect(short).not.toBeNull();
        expect(short as number).toBeGreaterThan(entry);
        const buf = unwrap(liqBuffer({ side: 'short', mark: entry, liqPrice: short }));
        expect(buf.buffer as number).toBeCloseTo(1 / leverage - mmr, 9);
      }),
    );
  });
});

describe('resolveSymbol', () => {
  const SYMBOLS = ['BTC-PERP', 'ETH-PERP', 'SOL-PERP', 'DOGE-PERP', 'BTC-USD', 'ETH-USD'];

  it('never throws on arbitrary text and answers with a listed symbol or up to 3 listed suggestions', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        const r = resolveSymbol(text, SYMBOLS);
        if ('symbol' in r) {
          expect(SYMBOLS).toContain(r.symbol);
        } else {
          expect(r.error).toBe('unknown_symbol');
          expect(r.closest.length).toBeLessThanOrEqual(3);
          for (const c of r.closest) expect(SYMBOLS).toContain(c);
        }
      }),
    );
  });

  it('resolves any casing and padding of a base or perp name to the perp', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('btc', 'eth', 'sol', 'doge'),
        fc.boolean(),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        fc.constantFrom('', ' ', '  ', '\t'),
        (base, withSuffix, upper, pad) => {
          const raw = withSuffix ? `${base}-perp` : base;
          const cased = [...raw].map((ch, i) => (upper[i % upper.length] ? ch.toUpperCase() : ch)).join('');
          expect(resolveSymbol(`${pad}${cased}${pad}`, SYMBOLS)).toEqual({ symbol: `${base.toUpperCase()}-PERP` });
        },
      ),
    );
  });

  it('suggests the nearest symbol first for a typo', () => {
    expect(resolveSymbol('BTX', SYMBOLS)).toEqual({ error: 'unknown_symbol', closest: ['BTC-PERP', 'ETH-PERP', 'SOL-PERP'] });
    expect(domain.spotSymbolFor('BTC-PERP')).toBe('BTC-USD');
    expect(domain.spotSymbolFor(' eth ')).toBe('ETH-USD');
  });
});

describe('every domain function', () => {
  // Field names used across the signatures, so random inputs reach past the first check.
  const KEYS = [
    'rate', 'intervalHours', 'impactBid', 'impactAsk', 'index', 'premium', 'interest', 'cap', 'floor', 'imf', 'mmf',
    'side', 'size', 'price', 'nowMs', 'offsetHours', 'perp', 'spot', 'horizonHours', 'values', 'window', 'z',
    'position', 'entry', 'leverage', 'mmr', 'tiers', 'qty', 'walletBalance', 'mark', 'liqPrice', 'equity',
    'riskFraction', 'stop', 'lotSize', 'tickSize', 'maxNotional', 'p', 'b', 'value', 'step', 'mode',
    'priceChange', 'oiChange', 'oiPrev', 'oiNow', 'pricePrev', 'priceNow', 'samples', 'level', 'direction',
    'last', 'annRate', 'perpSide', 'perpQty', 'perpEntry', 'perpMark', 'spotQty', 'spotEntry', 'spotPrice',
    'sizeUsd', 'orderType', 'paused', 'reduceOnly', 'cascadeActive',
  ];
  const FUNCTIONS = [
    domain.annualize, domain.normalizeRate, domain.premiumIndex, domain.fundingRateBinance,
    domain.fundingRateHyperliquid, domain.fundingRateOkx, domain.fundingRateDydx, domain.fundingPayment,
    domain.nextFundingTime, domain.basis, domain.annualizedBasis, domain.zScore, domain.basisSignal,
    domain.liqPriceIsolated, domain.maintenanceAmounts, domain.liqPriceTiered, domain.liqBuffer, domain.riskSize,
    domain.kelly, domain.roundToStep, domain.roundOrder, domain.oiQuadrant, domain.cascadeSeedRule,
    domain.cascadeLevel, domain.cascadeAlertGate, domain.fundingAgainstClose, domain.harvesterDecision,
    domain.hedgePnl, domain.orderChecks,
  ] as ((input: never) => unknown)[];

  const value: fc.Arbitrary<unknown> = fc.oneof(
    fc.double(),
    fc.integer({ min: -10, max: 1e13 }),
    fc.constantFrom('long', 'short', 'limit', 'market', 'cascade', 'short_perp', 'up', 'x', ''),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.double(), { maxLength: 5 }),
    fc.array(fc.record({ ts: fc.integer({ min: 0, max: 1e6 }), oi: fc.double(), price: fc.double() }), { maxLength: 4 }),
  );

  function badNumbers(x: unknown): boolean {
    if (typeof x === 'number') return !Number.isFinite(x) || Object.is(x, -0);
    if (Array.isArray(x)) return x.some(badNumbers);
    if (typeof x === 'object' && x !== null) return Object.values(x).some(badNumbers);
    return false;
  }

  it('never throws and never returns NaN, Infinity or -0, whatever the input', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FUNCTIONS),
        fc.oneof(fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 12 }), fc.anything()),
        (fn, input) => {
          const result = fn(input as never);
          expect(badNumbers(result)).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
