/**
 * Fill models (scenario controls): how marketable orders in a symbol fill on arrival, so a team can rehearse on
 * paper what real venues do to an order: fill part of it and keep the rest open (`partial`), accept it and fill
 * nothing yet (`resting`), or refuse it after accepting the request (`reject`). Held quantities fill at the next
 * market move after the symbol is set back to `normal`.
 */
import { canonical, type EngineContext } from './context.js';
import { rejected, unknownSymbol } from './errors.js';
import { round } from './checks.js';
import { FILL_MODES, type FillModel } from './state.js';

export type FillMode = FillModel['mode'] | 'normal';
export const FILL_MODE_NAMES: readonly FillMode[] = [...FILL_MODES, 'normal'];

/** `partial` without a fraction fills half. */
export const DEFAULT_PARTIAL_FRACTION = 0.5;

/** Sets the fill model of a perp or spot symbol; `normal` removes it (held orders then fill at the next move). */
export function setFillModel(ctx: EngineContext, symbol: string, mode: FillMode, fraction?: number): void {
  const sym = canonical(symbol);
  if (!ctx.specs.has(sym) && !ctx.spotSpecs.has(sym)) throw unknownSymbol(symbol);
  if (!FILL_MODE_NAMES.includes(mode)) throw rejected('invalid_fill_model', `fill model must be one of ${FILL_MODE_NAMES.join(', ')}`);
  if (fraction !== undefined && (mode !== 'partial' || typeof fraction !== 'number' || !(fraction > 0 && fraction < 1))) {
    throw rejected('invalid_fraction', 'a fraction (0 < x < 1) goes only with the partial fill model');
  }
  if (mode === 'normal') delete ctx.state.fillModels[sym];
  else ctx.state.fillModels[sym] = fraction === undefined ? { mode } : { mode, fraction };
}

export function fillModelOf(ctx: EngineContext, symbol: string): FillModel | undefined {
  return ctx.state.fillModels[symbol];
}

/** True while the symbol's model holds marketable orders back. */
export function holdsBack(ctx: EngineContext, symbol: string): boolean {
  const m = fillModelOf(ctx, symbol)?.mode;
  return m === 'partial' || m === 'resting';
}

/** How much of a marketable order of `quantity` fills on arrival under `model` (a lot multiple, maybe 0). */
export function fillOnArrival(model: FillModel | undefined, quantity: number, lot: number): number {
  if (!model) return quantity;
  if (model.mode !== 'partial') return 0;
  const part = round(quantity * (model.fraction ?? DEFAULT_PARTIAL_FRACTION), lot, 'down');
  return part >= quantity ? round(quantity - lot, lot, 'nearest') : part;
}
