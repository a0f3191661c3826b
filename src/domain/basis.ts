/** Perp-spot basis, its annualisation, the rolling z-score and the `/basis` signal (domain.md §3). */
import { HOURS_PER_YEAR } from './funding.js';
import { fail, guard, isFiniteNumber, nonNegative, out, positive, type Fields } from './input.js';
import { gte, lte } from './numbers.js';
import type { Result } from './result.js';

function prices(f: Fields): { perp: number; spot: number } {
  return { perp: f.num('perp', 'invalid_price', positive), spot: f.num('spot', 'invalid_price', positive) };
}

export type BasisInput = { perp: number; spot: number };

/** `(perp - spot) / spot`. */
export function basis(input: BasisInput): Result<number> {
  return guard(input, (f) => {
    const { perp, spot } = prices(f);
    return out((perp - spot) / spot);
  });
}

export type AnnualizedBasisInput = BasisInput & { horizonHours: number };

/** Basis times `8760 / horizonHours` (a perp's horizon is its funding interval; a future's, hours to expiry). */
export function annualizedBasis(input: AnnualizedBasisInput): Result<number> {
  return guard(input, (f) => {
    const { perp, spot } = prices(f);
    const h = f.num('horizonHours', 'invalid_interval', positive);
    return out((((perp - spot) / spot) * HOURS_PER_YEAR) / h);
  });
}

export type ZScoreInput = { values: number[]; window: number };

/** z of the newest value over the last `window` values (newest included), population standard deviation. */
export function zScore(input: ZScoreInput): Result<number> {
  return guard(input, (f) => {
    const w = f.int('window', 'invalid_window', 2);
    const values = f.raw('values');
    if (!Array.isArray(values) || !values.every(isFiniteNumber)) fail('invalid_value');
    if (values.length < w) fail('insufficient_data');
    const xs: number[] = values.slice(-w);
    const newest = xs[xs.length - 1] as number;
    // Identical values have no spread at all; testing this exactly stops float noise in the mean from
    // producing a huge z out of a flat series.
    if (xs.every((x) => x === newest)) fail('zero_variance');
    const mean = xs.reduce((a, x) => a + x, 0) / w;
    const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / w;
    if (!Number.isFinite(variance)) fail('out_of_range');
    if (!(variance > 0)) fail('zero_variance');
    return out((newest - mean) / Math.sqrt(variance));
  });
}

export type BasisPosition = 'short_perp' | 'long_perp';
export type BasisSignal = 'enter_short_perp' | 'enter_long_perp' | 'exit' | 'hold' | 'none';
export type BasisSignalInput = {
  z: number;
  position?: BasisPosition | null;
  entryZ?: number | null;
  exitZ?: number | null;
};

/** Mean-reversion signal on the basis z-score: enter at |z| >= entryZ, exit when z crosses back past exitZ. */
export function basisSignal(input: BasisSignalInput): Result<BasisSignal> {
  return guard(input, (f): BasisSignal => {
    const z = f.num('z', 'invalid_value');
    const entry = f.opt('entryZ', 'invalid_threshold', 2, positive);
    const exit = f.opt('exitZ', 'invalid_threshold', 0, nonNegative);
    if (exit >= entry) fail('invalid_threshold');
    const position = f.raw('position') ?? null;
    if (position === null) {
      if (gte(z, entry)) return 'enter_short_perp';
      if (lte(z, -entry)) return 'enter_long_perp';
      return 'none';
    }
    if (position === 'short_perp') return lte(z, exit) ? 'exit' : 'hold';
    if (position === 'long_perp') return gte(z, -exit) ? 'exit' : 'hold';
    return fail('invalid_position');
  });
}
