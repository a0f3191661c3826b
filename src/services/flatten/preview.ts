/**
 * The `/flatten` preview: every resting order it would cancel and every position it would close reduce-only, as the
 * venue shows them now. Reads only; nothing is sent. Execution closes what is there when it runs (executor.ts).
 */
import { UserError } from '../../errors.js';
import type { Exchange } from '../../exchange/port.js';
import { pct, price as fmtPrice, qty as fmtQty, utc } from '../../format.js';
import type { ApprovalStore } from '../approvals/store.js';
import type { PreviewView } from '../approvals/types.js';
import type { CascadeState } from '../cascade-state.js';
import type { KillSwitch } from '../kill-switch.js';
import type { MarketService } from '../market.js';
import { CASCADE_MAX_SLIPPAGE } from '../orders/policy.js';
import { originWords, restingOrders, type FlattenRequester } from '../orders/resting.js';
import type { CancelTarget, CloseTarget } from './types.js';

export interface FlattenPreviewDeps {
  exchange: Exchange;
  approvals: ApprovalStore;
  market: MarketService;
  cascade: CascadeState;
  killSwitch: KillSwitch;
  flattenRequester?: FlattenRequester;
  now(): number;
}

export interface FlattenPreview {
  cancels: CancelTarget[];
  closes: CloseTarget[];
  view: PreviewView;
}

/** A Discord field holds 1,024 characters: longer lists end with a count. */
function lines(items: string[], max = 1000): string {
  let out = '';
  for (let i = 0; i < items.length; i++) {
    const next = out ? `${out}\n${items[i]}` : items[i]!;
    if (next.length > max) return `${out}\n… and ${items.length - i} more`;
    out = next;
  }
  return out || 'none';
}

export function closeWords(c: CloseTarget, tick?: number, lot?: number): string {
  const side = c.side === 'long' ? 'sell' : 'buy';
  const how = c.cascade
    ? `limit ${side} within ${pct(CASCADE_MAX_SLIPPAGE, 1)} of mark (cascade)`
    : `market ${side}`;
  return `${c.symbol} ${c.side} ${fmtQty(c.size, lot)}: ${how}, reduce-only (mark ${fmtPrice(c.mark, tick)})`;
}

export function cancelWords(c: CancelTarget): string {
  const px = c.orderType === 'limit' && c.price !== null ? `limit ${fmtPrice(c.price)}` : 'market';
  const filled = c.filledQuantity > 0 ? `, ${c.filledQuantity} filled` : '';
  return `${c.orderId} ${c.symbol} ${c.side} ${c.quantity} ${px}${filled} (${c.origin})`;
}

export async function previewFlatten(d: FlattenPreviewDeps, reason: string): Promise<FlattenPreview> {
  const now = d.now();
  const [resting, positions, instruments, pause] = await Promise.all([
    restingOrders({ exchange: d.exchange, approvals: d.approvals, ...(d.flattenRequester ? { flattenRequester: d.flattenRequester } : {}) }),
    d.exchange.positions(),
    d.market.instruments(),
    d.killSwitch.state(),
  ]);
  const open = positions.filter((p) => p.size > 0);
  if (!resting.length && !open.length) {
    throw new UserError('nothing_to_flatten', 'Nothing to flatten: there are no resting orders and no open positions.');
  }
  const cancels: CancelTarget[] = resting.map(({ order: o, origin }) => ({
    orderId: o.orderId, clientOrderId: o.clientOrderId, symbol: o.symbol, side: o.side, orderType: o.orderType,
    quantity: o.quantity, filledQuantity: o.filledQuantity, price: o.price, origin: originWords(origin),
  }));
  const closes: CloseTarget[] = await Promise.all(open.map(async (p) => ({
    symbol: p.symbol, side: p.side, size: p.size, mark: p.markPrice, cascade: (await d.cascade.active(p.symbol, now)) !== null,
  })));
  const inst = (s: string) => instruments.find((i) => i.symbol === s);
  const checks = [
    pause ? `✅ Trading is paused by ${pause.by} (${pause.reason}); a flatten still goes through: it only cancels and reduces` : '✅ Cancels and reduce-only closes only: nothing can open or add exposure',
    `✅ Closes are immediate-or-cancel; in a symbol in cascade a limit within ${pct(CASCADE_MAX_SLIPPAGE, 1)} of mark, else market`,
    '⚠️ Positions are closed as they stand when it runs: one that changed since this preview is closed at its size then, and the report says so',
  ];
  const fields = [
    { name: 'Reason', value: reason },
    { name: `Cancel ${cancels.length} resting order(s)`, value: lines(cancels.map(cancelWords)) },
    { name: `Close ${closes.length} position(s)`, value: lines(closes.map((c) => closeWords(c, inst(c.symbol)?.tickSize, inst(c.symbol)?.lotSize))) },
    { name: 'As of', value: utc(now) },
  ];
  return {
    cancels,
    closes,
    view: {
      title: `Flatten preview: cancel ${cancels.length} order(s), close ${closes.length} position(s)`,
      fields,
      text: ['Checks:', ...checks].join('\n'),
    },
  };
}
