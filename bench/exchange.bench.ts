/**
 * Paper exchange engine speed. `npx tsx bench/exchange.bench.ts` prints one JSON line per measurement.
 * 1. order placement in process (target >= 20 000 orders/s): market orders alternating buy/sell, and resting
 *    limit orders placed then cancelled.
 * 2. one market tick over 500 instruments, each with a position and a resting order (target <= 5 ms).
 */
import { PaperEngine } from '../src/exchange/paper/engine.js';
import { syntheticMarkets } from '../src/exchange/paper/instruments.js';

const T0 = Date.UTC(2024, 0, 1);

function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function benchMarketOrders(n: number): void {
  const e = new PaperEngine({ seed: 1, initialBalance: 1e9 }, T0);
  const place = (i: number): void => {
    e.placeOrder({
      symbol: 'BTC-PERP', side: i % 2 === 0 ? 'buy' : 'sell', orderType: 'market', quantity: 0.01, leverage: 10,
      reduceOnly: false, clientOrderId: `m-${i}`,
    }, T0 + i);
  };
  for (let i = 0; i < 5000; i++) place(i);
  const start = performance.now();
  for (let i = 5000; i < 5000 + n; i++) place(i);
  const ms = performance.now() - start;
  emit({ bench: 'paper.place_market_orders', orders: n, ms: +ms.toFixed(1), ordersPerSec: Math.round(n / (ms / 1000)), target: '>= 20000/s' });
}

function benchLimitPlaceCancel(n: number): void {
  const e = new PaperEngine({ seed: 1, initialBalance: 1e9, volatilityScale: 0 }, T0);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const o = e.placeOrder({
      symbol: 'ETH-PERP', side: 'buy', orderType: 'limit', price: 1000, quantity: 0.1, leverage: 5, reduceOnly: false,
      clientOrderId: `l-${i}`,
    }, T0 + i);
    e.cancelOrder(o.orderId, T0 + i);
  }
  const ms = performance.now() - start;
  emit({ bench: 'paper.place_and_cancel_limit', orders: n, ms: +ms.toFixed(1), ordersPerSec: Math.round(n / (ms / 1000)), target: '>= 20000/s' });
}

function benchTick(instruments: number, ticks: number): void {
  const markets = syntheticMarkets(instruments);
  const e = new PaperEngine({ seed: 2, markets, initialBalance: 1e9 }, T0);
  for (const m of markets) {
    const mark = e.ticker(m.perp.symbol).markPrice;
    e.placeOrder({ symbol: m.perp.symbol, side: 'buy', orderType: 'market', quantity: 1, leverage: 5, reduceOnly: false, clientOrderId: `p-${m.perp.symbol}` }, T0);
    e.placeOrder({
      symbol: m.perp.symbol, side: 'buy', orderType: 'limit', price: Math.floor(mark * 0.5 * 100) / 100, quantity: 1, leverage: 5,
      reduceOnly: false, clientOrderId: `r-${m.perp.symbol}`,
    }, T0);
  }
  for (let i = 1; i <= 200; i++) e.tick(T0 + i * 1000);
  const times: number[] = [];
  for (let i = 1; i <= ticks; i++) {
    const s = performance.now();
    // One-second ticks; every 8th hour crosses a funding stamp somewhere, which the loop includes.
    e.tick(T0 + 200_000 + i * 1000);
    times.push(performance.now() - s);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  emit({
    bench: 'paper.tick_500_instruments', instruments, ticks, meanMs: +mean.toFixed(3), p50Ms: +percentile(sorted, 50).toFixed(3),
    p99Ms: +percentile(sorted, 99).toFixed(3), maxMs: +sorted[sorted.length - 1]!.toFixed(3), target: '<= 5 ms',
  });
  // One-second ticks across the top of the hour: 250 hourly markets settle funding, and at 08:00/16:00/00:00
  // all 500 do.
  const stampTimes: number[] = [];
  let hour = Math.ceil((T0 + 200_000 + ticks * 1000) / 3_600_000) * 3_600_000;
  for (let k = 0; k < 24; k++, hour += 3_600_000) {
    e.tick(hour - 500);
    const s = performance.now();
    e.tick(hour + 500);
    stampTimes.push(performance.now() - s);
  }
  const st = [...stampTimes].sort((a, b) => a - b);
  emit({
    bench: 'paper.tick_500_instruments_funding_stamp', stamps: st.length, p50Ms: +percentile(st, 50).toFixed(3),
    maxMs: +st[st.length - 1]!.toFixed(3), target: '<= 5 ms',
  });
}

benchMarketOrders(200_000);
benchLimitPlaceCancel(100_000);
benchTick(500, 2000);
