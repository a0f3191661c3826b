/**
 * A restart in the middle of `/flatten` finishes it exactly once: a desk process executing an approved flatten is
 * killed with SIGKILL at a random request to the exchange (before the request takes effect, or right after it did
 * and before the answer reaches the process), then a new process — the real order worker — resumes it. Each leg's
 * client order id reaches the paper exchange at most once, every resting order ends cancelled (a PerpDesk order's
 * approval `canceled`), and every position ends flat. The random points are drawn per run; a failure names them.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { startPaperServer } from '../../src/exchange/paper-server.js';
import type { PlaceOrderRequest } from '../../src/exchange/port.js';
import { QUEUES } from '../../src/queues/names.js';
import { AuditLog } from '../../src/services/audit.js';
import { ApprovalStore, SYSTEM } from '../../src/services/approvals/store.js';
import { FlattenStore } from '../../src/services/flatten/store.js';
import { previewFlatten } from '../../src/services/flatten/preview.js';
import { CascadeState } from '../../src/services/cascade-state.js';
import { KillSwitch } from '../../src/services/kill-switch.js';
import { MarketService } from '../../src/services/market.js';
import { closeTestRedis, deletePrefix, redisUrl, testPrefix, testRedis } from '../support/redis.js';

const redis = testRedis();
afterAll(() => closeTestRedis());

const BOB = { platform: 'discord' as const, userId: '2002', displayName: 'Bob' };
const ALICE = { platform: 'discord' as const, userId: '1001', displayName: 'Alice' };
const CHILD = fileURLToPath(new URL('./flatten-crash-child.ts', import.meta.url));
const RUNNER_TTL_MS = 1_500;

function child(mode: 'run' | 'resume', env: Record<string, string>) {
  const p = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, ...env, PD_MODE: mode, PD_RUNNER_TTL_MS: String(RUNNER_TTL_MS) }, stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => p.on('exit', (code, sig) => resolve(sig ?? code)));
  return { p, exited };
}

/**
 * One run: the kill lands on the `killAt`-th exchange request (or, with 'place', on the first order the flatten
 * places), `before` it takes effect or right after.
 */
async function crashOnce(killAt: number | 'place', before: boolean): Promise<{ killed: boolean; problems: string[] }> {
  const prefix = testPrefix();
  const paper = await PaperExchange.open({ redis, keyPrefix: prefix, volatilityScale: 0, seed: 3 });
  await paper.setPrice('BTC-PERP', 65_000);
  await paper.setPrice('ETH-PERP', 3_500);
  const store = { redis, prefix };
  const audit = new AuditLog(store);
  const approvals = new ApprovalStore(store, audit);
  const flattens = new FlattenStore(store, audit);
  // The book: two positions, a PerpDesk limit order resting, and two orders placed outside PerpDesk.
  await paper.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.05, leverage: 2, reduceOnly: false, clientOrderId: 'web-1' });
  await paper.placeOrder({ symbol: 'ETH-PERP', side: 'sell', orderType: 'market', quantity: 1.2, leverage: 2, reduceOnly: false, clientOrderId: 'web-2' });
  const t0 = Date.now();
  const plan = { kind: 'open' as const, symbol: 'BTC-PERP', base: 'BTC', positionSide: 'long' as const, side: 'buy' as const, orderType: 'limit' as const, quantity: 0.02, price: 60_000, leverage: 2, reduceOnly: false, notional: 1_200, refMark: 65_000, tickSize: 0.1, lotSize: 0.001 };
  const a = await approvals.create({ createdAt: t0, expiresAt: t0 + 120_000, requester: ALICE, chatId: 'c', required: 1, selfApprovalAllowed: false, plan, view: { title: 'o', fields: [], text: '' } });
  await approvals.approve(a, BOB, t0);
  await approvals.transition(a.id, ['approved'], 'submitted', t0, { action: 'order.submitted', detail: 'test', cause: SYSTEM });
  await paper.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'limit', quantity: 0.02, price: 60_000, leverage: 2, reduceOnly: false, clientOrderId: `pd-${a.id}` });
  await paper.placeOrder({ symbol: 'ETH-PERP', side: 'sell', orderType: 'limit', quantity: 0.3, price: 3_900, leverage: 2, reduceOnly: false, clientOrderId: 'web-3' });
  await paper.placeOrder({ symbol: 'BTC-PERP', side: 'sell', orderType: 'limit', quantity: 0.01, price: 70_000, leverage: 2, reduceOnly: false, clientOrderId: 'web-4' });

  const preview = await previewFlatten({ exchange: paper, approvals, market: new MarketService(paper), cascade: new CascadeState(store), killSwitch: new KillSwitch(store), now: Date.now }, 'crash drill');
  const f = await flattens.create({ createdAt: t0, expiresAt: t0 + 120_000, requester: ALICE, chatId: 'c', required: 1, selfApprovalAllowed: false, reason: 'crash drill', ...preview });
  expect((await flattens.approve(f, BOB, t0)).kind).toBe('approved');

  // The paper exchange behind HTTP, counting what takes effect, and killing the running process at the chosen request.
  let requests = 0;
  let target: ReturnType<typeof child> | null = null;
  let killed = false;
  const placed = new Map<string, number>();
  const kill = () => {
    if (target && !killed) {
      killed = true;
      target.p.kill('SIGKILL');
    }
  };
  const counted = new Proxy(paper, {
    get(t, prop) {
      const v: unknown = Reflect.get(t, prop, t);
      if (typeof v !== 'function' || prop === 'close') return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(t) : v;
      return async (...args: unknown[]) => {
        const n = target && !killed ? ++requests : 0;
        const hit = n > 0 && (killAt === 'place' ? prop === 'placeOrder' : n === killAt);
        if (hit && before) {
          kill();
          throw new Error('the process died before this request took effect');
        }
        const r = await (v as (...x: unknown[]) => Promise<unknown>).apply(t, args);
        if (prop === 'placeOrder') {
          const cid = (args[0] as PlaceOrderRequest).clientOrderId;
          placed.set(cid, (placed.get(cid) ?? 0) + 1);
        }
        if (hit && !before) kill();
        return r;
      };
    },
  }) as PaperExchange;
  const server = await startPaperServer({ exchange: counted, port: 0 });
  const env = { PD_REDIS_URL: redisUrl(), PD_PREFIX: prefix, PD_EXCHANGE_URL: server.url, PD_FLATTEN: f.id };
  const problems: string[] = [];
  try {
    target = child('run', env);
    const first = await target.exited;
    if (killed && first !== 'SIGKILL') problems.push(`the run ended ${String(first)}, not killed`);
    target = null;
    const second = child('resume', env);
    const code = await second.exited;
    if (code !== 0) problems.push(`the resuming process ended ${String(code)}`);

    const rec = await flattens.get(f.id);
    if (rec?.status !== 'done') problems.push(`flatten ended ${rec?.status ?? 'missing'} (${rec?.result ?? ''})`);
    const legs = (await flattens.legs(f.id)) ?? [];
    // Nothing else touches the positions: each close leg is the one order that closed its whole position, and says so.
    const sizes: Record<string, number> = { 'BTC-PERP': 0.05, 'ETH-PERP': 1.2 };
    const closes = legs.filter((x) => x.kind === 'close');
    if (closes.map((l) => l.symbol).sort().join() !== 'BTC-PERP,ETH-PERP') problems.push(`close legs: ${closes.map((l) => l.symbol).join(', ')}`);
    for (const l of closes) {
      const n = placed.get(l.clientOrderId) ?? 0;
      if (n !== 1) problems.push(`${l.clientOrderId} was placed ${n} times`);
      if (l.status !== 'done' || Math.abs((l.filledQuantity ?? 0) - sizes[l.symbol]!) > 1e-9) problems.push(`${l.clientOrderId} ended ${l.status} with ${l.filledQuantity ?? 0} filled (${l.note ?? ''})`);
    }
    const cancels = legs.filter((x) => x.kind === 'cancel');
    if (cancels.length !== 3 || cancels.some((l) => l.status !== 'done')) problems.push(`cancel legs: ${cancels.map((l) => `${l.clientOrderId} ${l.status}`).join(', ')}`);
    for (const [cid, n] of placed) if (n > 1) problems.push(`${cid} reached the exchange ${n} times`);
    const positions = await paper.positions();
    if (positions.length) problems.push(`positions left: ${JSON.stringify(positions.map((p) => [p.symbol, p.side, p.size]))}`);
    const open = (await paper.listOrders()).filter((o) => o.status === 'new' || o.status === 'partially_filled');
    if (open.length) problems.push(`orders still resting: ${open.map((o) => o.clientOrderId).join(', ')}`);
    const ap = await approvals.get(a.id);
    if (ap?.status !== 'canceled') problems.push(`the PerpDesk order's approval is ${ap?.status ?? 'missing'}, not canceled`);
    const done = (await audit.latest(200)).filter((e) => e.subject === f.id && (e.action === 'flatten.done' || e.action === 'flatten.failed'));
    if (done.length !== 1) problems.push(`${done.length} final audit entries`);
  } finally {
    kill();
    await server.close();
    await paper.close();
    const q = new Queue(QUEUES.orders, { connection: redis, prefix: `{${prefix}}` });
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
    await deletePrefix(redis, prefix);
    await deletePrefix(redis, `{${prefix}}`);
  }
  return { killed, problems };
}

describe('a restart in the middle of /flatten', () => {
  it('finishes it exactly once wherever the process is killed', async () => {
    // A full run makes about 16 exchange requests (plan 3, cancels 2 each, closes 2-3 each): every kill point is in it.
    // Three random points, and the worst one every time: the first close order accepted, its answer lost.
    const points: { killAt: number | 'place'; before: boolean }[] = [
      ...Array.from({ length: 3 }, () => ({ killAt: 1 + Math.floor(Math.random() * 14), before: Math.random() < 0.5 })),
      { killAt: 'place', before: false },
    ];
    const failures: string[] = [];
    let kills = 0;
    for (const pt of points) {
      const r = await crashOnce(pt.killAt, pt.before);
      if (r.killed) kills += 1;
      for (const p of r.problems) failures.push(`kill at ${pt.killAt === 'place' ? 'the first order placed' : `request ${pt.killAt}`} (${pt.before ? 'before' : 'after'} it took effect): ${p}`);
    }
    expect(failures).toEqual([]);
    expect(kills).toBe(points.length);
  }, 120_000);
});
