/**
 * Approve click → order placed on the paper exchange: latency p50/p99 over BENCH_ORDERS orders (default 300),
 * through the real dispatcher, approval store (Lua), BullMQ queue and worker. Also click → `filled` recorded.
 * `npx tsx bench/approvals.bench.ts` prints one JSON line. Needs redis-server (started privately here).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buttons, commands } from '../commands/registry.js';
import { dispatch, dispatchButton } from '../commands/dispatch.js';
import type { CommandContext, Invocation } from '../commands/context.js';
import { loadConfig } from '../src/config/env.js';
import type { Exchange } from '../src/exchange/port.js';
import { PaperExchange } from '../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../src/log.js';
import { startRedisServer } from '../src/queues/redis-server.js';
import { closeRedis, createRedis } from '../src/queues/redis.js';
import { buildServices } from '../src/services/build.js';
import { startOrderProcessing } from '../jobs/place-order.js';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 300);
const WARMUP = 20;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const inv = (userId: string, displayName: string): Invocation => ({
  platform: 'discord',
  actor: { platform: 'discord', userId, displayName, roleIds: [] },
  chatId: '1',
});
const trader = inv('1001', 'Trader');
const approver = inv('2002', 'Approver');

const dir = mkdtempSync(join(tmpdir(), 'pd-bench-approvals-'));
const server = await startRedisServer({ dataDir: dir });
const redis = createRedis(server.url);
const paper = await PaperExchange.open({ redis, keyPrefix: 'bench', volatilityScale: 0, initialBalance: 10_000_000 });
await paper.setPrice('BTC-PERP', 65_000);

// Resolves the waiter of an order the moment the exchange has accepted it.
const placed = new Map<string, (t: number) => void>();
const timed: Exchange = new Proxy(paper, {
  get(target, prop) {
    if (prop === 'placeOrder') {
      return async (req: Parameters<Exchange['placeOrder']>[0]) => {
        const o = await target.placeOrder(req);
        placed.get(req.clientOrderId)?.(performance.now());
        return o;
      };
    }
    const v: unknown = Reflect.get(target, prop, target);
    return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
  },
});

const config = loadConfig({ EXCHANGE: 'paper', PERPDESK_TRADERS: 'discord:1001', PERPDESK_APPROVERS: 'discord:2002', APPROVAL_TTL_SECONDS: '600' });
const status = async () => ({ exchange: 'paper', exchangeOk: true, redisOk: true, queues: [], schedulers: [], transports: [], startedAt: 0 });
const services = buildServices({ redis, prefix: 'bench', exchange: timed, now: Date.now, status, queuePrefix: '{bench}' });
const ctx: CommandContext = { ...services, exchange: timed, config, log: silentLogger, now: Date.now, commands };
const filled = new Map<string, (t: number) => void>();
const processing = await startOrderProcessing({
  redisUrl: server.url, services, exchange: timed, config, log: silentLogger, now: Date.now, sweepMs: 0,
  onFinal: async (rec) => filled.get(rec.id)?.(performance.now()),
});

try {
  const toPlaced: number[] = [];
  const toFilled: number[] = [];
  for (let i = 0; i < ORDERS + WARMUP; i++) {
    const side = i % 2 === 0 ? 'long' : 'short';
    const reply = await dispatch(ctx, commands, 'order', { symbol: 'BTC-PERP', side, size_usd: 1000, leverage: 2 }, trader);
    const id = reply.track;
    const approve = reply.buttons?.find((b) => b.label === 'Approve')?.id;
    if (!id || !approve) throw new Error(`no preview: ${reply.text}`);
    const atPlaced = new Promise<number>((r) => placed.set(`pd-${id}`, r));
    const atFilled = new Promise<number>((r) => filled.set(id, r));
    const t0 = performance.now();
    const click = await dispatchButton(ctx, buttons, approve, approver);
    if (click.notice !== 'Approved: placing the order.') throw new Error(`not approved: ${click.notice}`);
    // Like a transport: the work that follows the answer runs once the click is answered.
    const [tp, tf] = await Promise.all([atPlaced, atFilled, click.afterAnswer?.()]);
    if (i >= WARMUP) {
      toPlaced.push(tp - t0);
      toFilled.push(tf - t0);
    }
  }
  toPlaced.sort((a, b) => a - b);
  toFilled.sort((a, b) => a - b);
  const r = (x: number) => +x.toFixed(2);
  console.log(JSON.stringify({
    bench: 'approve-click-to-order',
    orders: ORDERS,
    placedMs: { p50: r(pct(toPlaced, 50)), p99: r(pct(toPlaced, 99)), max: r(toPlaced.at(-1)!) },
    filledRecordedMs: { p50: r(pct(toFilled, 50)), p99: r(pct(toFilled, 99)) },
    exchangeOrders: (await paper.listOrders()).length,
  }));
} finally {
  await processing.close();
  await services.orderQueue.close();
  await paper.close();
  await closeRedis(redis);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
