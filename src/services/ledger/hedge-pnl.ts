/**
 * A live hedge's PnL split into funding, fees, basis and delta (domain.md §8 `hedgePnl`) from the ledger: entry
 * prices are the average prices of the legs' opening fills, fees those of every leg fill since the hedge opened,
 * funding the perp's settlements since then; marks are now.
 */
import { hedgePnl, type HedgePnl } from '../../domain/harvester.js';
import type { LedgerFill } from '../../domain/ledger.js';
import { isDomainError } from '../../domain/result.js';
import type { Exchange } from '../../exchange/port.js';
import type { Hedge } from '../harvester/state.js';
import type { Ledger } from './ledger.js';

/** The entry's legs fill just before the hedge is recorded (openedAt); a rebalance may have replaced its plan id since. */
const ENTRY_LEAD_MS = 10 * 60_000;

export type HedgePnlResult = { ok: true; pnl: HedgePnl; perpEntry: number; spotEntry: number } | { ok: false; why: string };

export async function hedgePnlOf(ledger: Ledger, exchange: Pick<Exchange, 'ticker' | 'spotTicker'>, h: Hedge): Promise<HedgePnlResult> {
  const [fills, funding, ticker, spot] = await Promise.all([
    ledger.fills(h.openedAt - ENTRY_LEAD_MS, Infinity, [h.symbol, h.spotSymbol]),
    ledger.funding(h.openedAt, Infinity, [h.symbol]),
    exchange.ticker(h.symbol),
    exchange.spotTicker(h.spotSymbol),
  ]);
  const legs = fills.filter((f) => f.ref.startsWith('plan:'));
  const perpOpen = h.perpSide === 'short' ? 'sell' : 'buy';
  const spotOpen = h.perpSide === 'short' ? 'buy' : 'sell';
  const perpEntry = averagePrice(legs.filter((f) => f.market === 'perp' && f.side === perpOpen));
  const spotEntry = averagePrice(legs.filter((f) => f.market === 'spot' && f.side === spotOpen));
  if (perpEntry === null || spotEntry === null) return { ok: false, why: 'the ledger has no fills of its legs (opened before the ledger, or outside PerpDesk)' };
  const pnl = hedgePnl({
    perpSide: h.perpSide, perpQty: h.perpQty, perpEntry, perpMark: ticker.markPrice, spotQty: h.spotQty, spotEntry,
    spotPrice: spot.lastPrice, fundingPayments: funding.map((r) => r.amount), feesPaid: legs.map((f) => f.fee),
  });
  if (isDomainError(pnl)) return { ok: false, why: `cannot split its PnL (${pnl.error})` };
  return { ok: true, pnl, perpEntry, spotEntry };
}

function averagePrice(fills: readonly LedgerFill[]): number | null {
  const qty = fills.reduce((s, f) => s + f.qty, 0);
  return qty > 0 ? fills.reduce((s, f) => s + f.notional, 0) / qty : null;
}
