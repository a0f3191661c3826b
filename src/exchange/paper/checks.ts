/** Order-request validation and step arithmetic: pure rules with no engine state, so each can be read on its own. */
import { roundWithMode, type RoundMode } from '../../domain/index.js';
import type { OrderSide } from '../port.js';
import { rejected } from './errors.js';

/** Relative slack on size comparisons: sizes are sums of lot multiples and carry float noise. */
export const SIZE_EPS = 1e-9;

export function isFinitePositive(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0;
}

/** Domain step rounding without the input-object wrapper: it runs per market per tick on checked numbers. */
export function round(value: number, step: number, mode: RoundMode): number {
  return roundWithMode(value, step, mode);
}

/** True when `x` is a whole multiple of `step` up to float noise. */
export function onStep(x: number, step: number): boolean {
  return Math.abs(round(x, step, 'nearest') - x) <= step * 1e-6;
}

export function checkSide(side: unknown): OrderSide {
  if (side !== 'buy' && side !== 'sell') throw rejected('invalid_side', 'side must be buy or sell');
  return side;
}

export function checkType(type: unknown): 'market' | 'limit' {
  if (type !== 'market' && type !== 'limit') throw rejected('invalid_order_type', 'order_type must be market or limit');
  return type;
}

export function checkQuantity(q: unknown, lot: number, min: number): asserts q is number {
  if (!isFinitePositive(q)) throw rejected('invalid_quantity', `quantity must be a positive number, got ${String(q)}`);
  if (!onStep(q, lot)) throw rejected('invalid_quantity', `quantity ${q} is not a multiple of the lot size ${lot}`);
  if (q < min * (1 - SIZE_EPS)) throw rejected('below_min_quantity', `quantity ${q} is below the minimum ${min}`);
}

export function checkPrice(type: 'market' | 'limit', price: unknown, tick: number): number | null {
  if (type === 'market') {
    if (price !== undefined && price !== null) throw rejected('invalid_price', 'a market order takes no price');
    return null;
  }
  if (!isFinitePositive(price)) throw rejected('invalid_price', 'a limit order needs a positive price');
  if (!onStep(price, tick)) throw rejected('invalid_price', `price ${price} is not a multiple of the tick size ${tick}`);
  return price;
}
