/**
 * What an order adds to the book, for the desk's caps: the highest price it can fill at (the per-order notional cap
 * is measured there, not at the price the trader typed) and the account leverage once it has filled (the same
 * rule the risk monitor alerts on: gross notional at mark over equity).
 */
import type { Side } from './liquidation.js';

export type FillPriceInput = {
  side: 'buy' | 'sell';
  orderType: 'market' | 'limit';
  /** The limit price; ignored for a market order. */
  price: number | null;
  mark: number;
  /** How far above mark a fill at the touch may land (spread, slippage), as a fraction. */
  touchAllowance: number;
};

/**
 * The highest price per unit the order can fill at. A market order fills at the touch, near mark. A buy limit
 * fills at its limit or below (above mark it crosses and takes the ask, which is lower). A sell limit below mark
 * crosses and fills at the bid near mark, so its quantity must be sized there, not at its (lower) limit; above
 * mark it rests and fills at its limit.
 */
export function worstFillPrice(i: FillPriceInput): number {
  const touch = i.mark * (1 + i.touchAllowance);
  if (i.orderType === 'market' || i.price === null) return touch;
  return i.side === 'buy' ? i.price : Math.max(i.price, touch);
}

export type HeldPosition = { symbol: string; side: Side; size: number; markPrice: number };

/** Gross notional at mark: what account leverage is measured on. */
export function grossNotional(positions: readonly HeldPosition[]): number {
  return positions.reduce((s, p) => s + Math.abs(p.size) * p.markPrice, 0);
}

/** Gross notional over equity; no equity with exposure is unbounded, no exposure is 0. */
export function accountLeverage(notional: number, equity: number): number {
  if (notional <= 0) return 0;
  return equity > 0 ? notional / equity : Infinity;
}

/** Above the cap beyond float noise (the risk monitor's alert and the order checks share this). */
export function aboveLeverageCap(leverage: number, cap: number): boolean {
  return leverage > cap * (1 + 1e-12);
}

export type AddedExposure = { symbol: string; side: Side; quantity: number; price: number };

/**
 * Gross notional once `order` has filled. Positions net per symbol, so an order against a position shrinks it (or
 * flips it); the order's symbol is valued at the higher of mark and the order's fill price, never less.
 */
export function grossNotionalAfter(positions: readonly HeldPosition[], order: AddedExposure): number {
  const others = positions.filter((p) => p.symbol !== order.symbol);
  const same = positions.filter((p) => p.symbol === order.symbol);
  const signed = (side: Side, size: number): number => (side === 'long' ? 1 : -1) * Math.abs(size);
  const net = same.reduce((s, p) => s + signed(p.side, p.size), signed(order.side, order.quantity));
  const price = Math.max(order.price, ...same.map((p) => p.markPrice));
  return grossNotional(others) + Math.abs(net) * price;
}
