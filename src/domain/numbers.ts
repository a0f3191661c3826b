/**
 * Number rules shared by the whole domain (domain.md §0): finite checks, threshold comparisons that forgive float
 * noise, and step rounding that does not fall into `0.3 / 0.1 = 2.9999999999999996`.
 */
import { guard, nonNegative, positive, out, fail, type Fields } from './input.js';
import type { Result } from './result.js';

export { isFiniteNumber } from './input.js';

/** Threshold tolerance: `(1.02 - 1) / 1 = 0.020000000000000018` must count as exactly 2 %. */
export const THRESHOLD_EPS = 1e-12;

/** `x >= t` per §0. */
export function gte(x: number, t: number): boolean {
  return x > t - THRESHOLD_EPS;
}

/** `x > t` per §0. */
export function gt(x: number, t: number): boolean {
  return x > t + THRESHOLD_EPS;
}

/** `x <= t` per §0. */
export function lte(x: number, t: number): boolean {
  return x < t + THRESHOLD_EPS;
}

/** `x < t` per §0. */
export function lt(x: number, t: number): boolean {
  return x < t - THRESHOLD_EPS;
}

/**
 * `a > b` beyond float noise relative to b's size. For money amounts (notionals in the thousands) an absolute
 * 1e-12 is below one ulp, so caps compare relatively.
 */
export function exceedsRel(a: number, b: number): boolean {
  return a > b + THRESHOLD_EPS * Math.max(1, Math.abs(b));
}

export function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}

export type RoundMode = 'down' | 'up' | 'nearest';

/** Snap tolerance on `value / step`: quotients this close to a multiple of 0.5 are float noise. */
const SNAP_EPS = 1e-9;
/**
 * Past ~1e6 steps the quotient of two doubles carries more noise than 1e-9 (245159.71875 / 0.00001 gives
 * 24515971874.999996), so the tolerance grows with it: value, step and the division each add at most half an ulp.
 */
const SNAP_REL = 1e-15;

/** `x / step` snapped to the nearest multiple of 0.5 when within 1e-9 (§0), so floor/ceil/half-up see the intent. */
function stepQuotient(value: number, step: number): number {
  const n = value / step;
  const half = Math.round(n * 2) / 2;
  return Math.abs(n - half) <= Math.max(SNAP_EPS, SNAP_REL * Math.abs(n)) ? half : n;
}

/** Decimal places of a step's shortest text: 0.001 -> 3, 1e-8 -> 8, 0.5 -> 1, 10 -> 0. */
function decimalPlaces(step: number): number {
  const [mantissa = '', exp = '0'] = String(step).split('e');
  const frac = mantissa.split('.')[1] ?? '';
  return Math.max(0, frac.length - Number(exp));
}

/**
 * `k * step` as the nearest double to the exact decimal, so 3 * 0.1 gives 0.3, not 0.30000000000000004. The
 * float product is within far less than half a step of the true multiple, so fixing it to the step's decimals is
 * exact; very large multiples keep the plain product.
 */
function multipleOf(k: number, step: number): number {
  const product = k * step;
  const places = decimalPlaces(step);
  if (Math.abs(k) >= 1e15 || places > 100 || Math.abs(product) >= 1e21) return product;
  return Number(product.toFixed(places));
}

/** Floor to a multiple of `step` (caller ensures value >= 0, step > 0). */
export function floorToStep(value: number, step: number): number {
  return multipleOf(Math.floor(stepQuotient(value, step)), step);
}

/** Ceil to a multiple of `step` (caller ensures value >= 0, step > 0). */
export function ceilToStep(value: number, step: number): number {
  return multipleOf(Math.ceil(stepQuotient(value, step)), step);
}

/** Nearest multiple of `step`, ties up (caller ensures value >= 0, step > 0). */
export function nearestStep(value: number, step: number): number {
  return multipleOf(Math.floor(stepQuotient(value, step) + 0.5), step);
}

export function roundWithMode(value: number, step: number, mode: RoundMode): number {
  if (mode === 'down') return floorToStep(value, step);
  if (mode === 'up') return ceilToStep(value, step);
  return nearestStep(value, step);
}

function readMode(f: Fields): RoundMode {
  const mode = f.raw('mode') ?? 'down';
  if (mode !== 'down' && mode !== 'up' && mode !== 'nearest') fail('invalid_mode');
  return mode;
}

export type RoundToStepInput = { value: number; step: number; mode?: RoundMode | null };

/** Round a non-negative value to a multiple of `step` (§5; default mode `down`). */
export function roundToStep(input: RoundToStepInput): Result<number> {
  return guard(input, (f) => {
    const value = f.num('value', 'invalid_value', nonNegative);
    const step = f.num('step', 'invalid_step', positive);
    return out(roundWithMode(value, step, readMode(f)));
  });
}
