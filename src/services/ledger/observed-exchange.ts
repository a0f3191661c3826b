/**
 * The exchange every service, command and job uses, with the ledger listening: each order answer (place, list,
 * cancel, of perp orders and spot hedge legs) is recorded before the caller sees it, so every path that places or
 * looks at an order — approvals, harvester legs, cancels, flatten — lands in the ledger without remembering to.
 * Orders are registered before they are sent, so a fill seen only in a later listing is still known as the desk's.
 * A ledger write that fails is logged and never fails the trade: the ledger job's listing records it later.
 */
import type {
  Exchange, ListOrdersQuery, Order, PlaceOrderRequest, PlaceSpotOrderRequest,
} from '../../exchange/port.js';
import type { MarketKind } from '../../domain/fees.js';
import type { Logger } from '../../log.js';
import type { Ledger } from './ledger.js';
import { isDeskClientOrderId } from './desk-orders.js';

const OBSERVED = Symbol('ledger-observed');

export function isObserved(exchange: Exchange): boolean {
  return (exchange as unknown as Record<symbol, unknown>)[OBSERVED] === true;
}

/** Wraps `inner` so the ledger sees every order answer; an exchange already wrapped is returned as it is. */
export function observedExchange(inner: Exchange, ledger: Ledger, log?: Logger): Exchange {
  if (isObserved(inner)) return inner;
  const record = async (orders: readonly Order[], market: MarketKind, atPlacement: boolean): Promise<void> => {
    // Nothing filled, nothing to record: the answer goes straight back.
    if (!orders.some((o) => o.filledQuantity > 0)) return;
    try {
      await ledger.observe(orders, market, { atPlacement });
    } catch (err) {
      log?.warn({ err: { message: (err as Error).message } }, 'ledger: could not record an order answer; the ledger job will pick it up');
    }
  };
  const register = async (req: PlaceOrderRequest | PlaceSpotOrderRequest, market: MarketKind): Promise<void> => {
    // Ids of the desk's own families are recognised without it; skipping the round trip keeps placement as quick.
    if (isDeskClientOrderId(req.clientOrderId)) return;
    try {
      await ledger.register(req, market);
    } catch (err) {
      log?.warn({ err: { message: (err as Error).message } }, 'ledger: could not register an order before sending it');
    }
  };
  const overrides: Partial<Exchange> = {
    async placeOrder(req: PlaceOrderRequest) {
      // Sent at once for the desk's own id families: registering them first would only add a round trip.
      if (!isDeskClientOrderId(req.clientOrderId)) await register(req, 'perp');
      const o = await inner.placeOrder(req);
      await record([o], 'perp', true);
      return o;
    },
    async placeSpotOrder(req: PlaceSpotOrderRequest) {
      if (!isDeskClientOrderId(req.clientOrderId)) await register(req, 'spot');
      const o = await inner.placeSpotOrder(req);
      await record([o], 'spot', true);
      return o;
    },
    async listOrders(q?: ListOrdersQuery) {
      const list = await inner.listOrders(q);
      await record(list, 'perp', false);
      return list;
    },
    async listSpotOrders(q?: ListOrdersQuery) {
      const list = await inner.listSpotOrders(q);
      await record(list, 'spot', false);
      return list;
    },
    async cancelOrder(id: string) {
      const o = await inner.cancelOrder(id);
      await record([o], 'perp', false);
      return o;
    },
    async cancelSpotOrder(id: string) {
      const o = await inner.cancelSpotOrder(id);
      await record([o], 'spot', false);
      return o;
    },
  };
  // A proxy, not a copy: the paper exchange's scenario controls (/paper) and any other extra stay reachable.
  const wrapped = new Proxy(inner, {
    get(target, prop) {
      if (prop === OBSERVED) return true;
      if (typeof prop === 'string' && Object.hasOwn(overrides, prop)) return overrides[prop as keyof Exchange];
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return wrapped;
}
