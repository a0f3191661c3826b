/**
 * Random schedules of the money-path fault test. A schedule is a seeded sequence of steps against one World (its
 * own Redis key prefix, its own venue): order and close requests, Approve/Reject clicks (two at once), order jobs
 * and sweeps, expiry by time, /pause and /resume, cascades starting and ending, price moves, funding changes, fill
 * models and venue faults, harvester runs in propose and auto (two at once), plan Approve/Reject clicks, and process
 * crashes at any Redis command. After the steps a settle phase lifts every fault and lets the desk reconcile.
 * The same seed gives the same steps; `runSchedule(seed)` replays one.
 */
import type { Redis } from 'ioredis';
import { HARVEST_APPROVE, HARVEST_REJECT } from '../../src/services/harvester/plans.js';
import { RESUME_AFTER_MS } from '../../src/services/harvester/hedge-executor.js';
import { encodeButtonId } from '../../src/chat/button-id.js';
import type { Reply } from '../../src/chat/reply.js';
import { CONFIG, JOB_ATTEMPTS, World, type HarvesterMode, type PersonName } from './desk.js';
import { Observer, type Violation } from './invariants.js';
import { CrashError, PLACE_FAULTS } from './venue.js';

/** mulberry32: small, fast, good enough to pick steps. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ScheduleResult {
  seed: number;
  steps: string[];
  violations: Violation[];
  crashes: number;
  venueOrders: number;
  /** Flattens that ran to the end (done or failed), and approvals whose order was cancelled. */
  flattensRun: number;
  canceled: number;
}

export interface ScheduleOptions {
  redis: Redis;
  /** Key prefix root; the schedule adds its seed. */
  prefix: string;
  steps?: number;
  /** Keep the schedule's keys (to look at a failure). */
  keep?: boolean;
}

const START = Date.UTC(2024, 0, 15, 3, 0, 0);
const PRICES: Record<string, number> = { 'BTC-PERP': 65_000, 'ETH-PERP': 3_500 };
/** Prices stay within this band of their start, far from a liquidation of the allowed leverage. */
const BAND = 0.08;

interface Ctx {
  w: World;
  obs: Observer;
  r: () => number;
  log: string[];
  previews: { approve: string; reject: string }[];
  /** /flatten previews' buttons. */
  flattens: { approve: string; reject: string }[];
}

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function buttonsOf(reply: Reply): { approve: string; reject: string } | null {
  const a = reply.buttons?.find((b) => b.label === 'Approve');
  const j = reply.buttons?.find((b) => b.label === 'Reject');
  return a && j ? { approve: a.id, reject: j.id } : null;
}

/** Awaited work of one step; a crash (or an error a real process would log and survive) ends it. */
async function settled(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CrashError) return;
    // Job errors (outcome unknown: retried) and refused venue calls are part of the model; the process lives on.
  }
}

type Step = (c: Ctx) => Promise<string>;

const STEPS: { weight: number; run: Step }[] = [
  { weight: 9, run: async (c) => {
    const side = pick(c.r, ['long', 'short'] as const);
    // A third near the notional cap, where re-pricing and crossing limits matter.
    const size = Math.round(c.r() < 0.35 ? 9_000 + c.r() * 1_500 : 500 + c.r() * 11_500);
    const lev = pick(c.r, [1, 2, 3, 5, 6]);
    const mark = c.w.venue.engine.ticker('ETH-PERP').markPrice;
    const limit = c.r() < 0.35 ? Math.round(mark * (1 + (c.r() - 0.5) * 0.04) * 100) / 100 : undefined;
    const reply = await c.w.desk.run('alice', 'order', { symbol: 'ETH-PERP', side, size_usd: size, leverage: lev, ...(limit ? { price: limit } : {}) });
    const b = buttonsOf(reply);
    if (b) c.previews.push(b);
    return `order ETH ${side} $${size} ${lev}x ${limit ?? 'market'} -> ${b ? 'preview' : 'refused'}`;
  } },
  { weight: 2, run: async (c) => {
    const reply = await c.w.desk.run('alice', 'close', { symbol: 'ETH-PERP' });
    const b = buttonsOf(reply);
    if (b) c.previews.push(b);
    return `close ETH -> ${b ? 'preview' : 'refused'}`;
  } },
  { weight: 10, run: async (c) => {
    if (!c.previews.length) return 'click: nothing to click';
    const p = pick(c.r, c.previews);
    const who = (): PersonName => pick(c.r, ['bob', 'carol'] as const);
    const kind = pick(c.r, ['approve', 'approve2', 'approve+reject', 'reject', 'withdraw'] as const);
    const d = c.w.desk;
    if (kind === 'approve') await d.click(who(), p.approve);
    else if (kind === 'approve2') await Promise.all([d.click('bob', p.approve), d.click('carol', p.approve)]);
    else if (kind === 'approve+reject') await Promise.all([d.click(who(), p.approve), d.click('bob', p.reject)]);
    else if (kind === 'reject') await d.click(who(), p.reject);
    else await d.click('alice', p.reject);
    return `click ${kind}`;
  } },
  { weight: 9, run: async (c) => {
    const ids = [...c.w.jobs.keys()];
    if (!ids.length) return 'job: none queued';
    const id = pick(c.r, ids);
    const attempts = (c.w.jobs.get(id) ?? 0) + 1;
    c.w.jobs.set(id, attempts);
    // The worker's periodic sweep may reconcile the same approval while its job runs.
    const race = c.r() < 0.2;
    try {
      if (race) await Promise.all([c.w.desk.runJob(id), settled(c.w.desk.sweep())]);
      else await c.w.desk.runJob(id);
      c.w.jobs.delete(id);
      return `job ${id} done${race ? ' (with a sweep)' : ''}`;
    } catch (e) {
      if (e instanceof CrashError) return `job ${id} crashed`;
      if (attempts >= JOB_ATTEMPTS) c.w.jobs.delete(id);
      return `job ${id} failed (${attempts}): ${e instanceof Error ? e.message.slice(0, 60) : ''}`;
    }
  } },
  { weight: 3, run: async (c) => {
    await c.w.desk.sweep();
    return 'sweep';
  } },
  { weight: 5, run: async (c) => {
    const dt = Math.round(1_000 + c.r() * (c.r() < 0.2 ? 200_000 : 30_000));
    c.w.clock.t += dt;
    c.w.venue.engine.tick(c.w.clock.t);
    return `advance ${dt} ms`;
  } },
  { weight: 5, run: async (c) => {
    const sym = pick(c.r, ['BTC-PERP', 'ETH-PERP']);
    const now = c.w.venue.engine.ticker(sym).markPrice;
    const base = PRICES[sym]!;
    const next = Math.min(base * (1 + BAND), Math.max(base * (1 - BAND), now * (1 + (c.r() - 0.5) * 0.04)));
    c.w.venue.engine.setPrice(sym, next);
    return `price ${sym} ${next.toFixed(2)}`;
  } },
  { weight: 3, run: async (c) => {
    const r = c.r() < 0.5 ? await c.w.desk.run('dana', 'pause', { reason: 'fault test' }) : await c.w.desk.run('dana', 'resume', {});
    return `${r.title ?? r.text?.slice(0, 30)}`;
  } },
  { weight: 3, run: async (c) => {
    const sym = pick(c.r, ['BTC-PERP', 'ETH-PERP']);
    const now = c.w.now();
    if (c.r() < 0.6) {
      await c.w.desk.services.cascade.put({ symbol: sym, level: pick(c.r, ['cascade', 'severe', 'extreme'] as const), direction: 'long_liquidation', since: now, lastHotAt: now, oiChange: -0.1, priceChange: -0.05 });
      return `cascade start ${sym}`;
    }
    await c.w.desk.services.cascade.clear(sym);
    return `cascade end ${sym}`;
  } },
  { weight: 4, run: async (c) => {
    const sym = pick(c.r, ['BTC-PERP', 'BTC-USD', 'ETH-PERP']);
    const mode = pick(c.r, ['partial', 'partial', 'resting', 'reject', 'normal', 'normal'] as const);
    const fraction = mode === 'partial' ? pick(c.r, [0.3, 0.5, 0.7]) : undefined;
    c.w.venue.engine.setFillModel(sym, mode, fraction);
    return `fill ${sym} ${mode}${fraction ? ` ${fraction}` : ''}`;
  } },
  { weight: 4, run: async (c) => {
    const f = pick(c.r, PLACE_FAULTS);
    c.w.venue.faults.push(f);
    if (c.r() < 0.2) c.w.venue.listFaults.push('timeout');
    return `fault ${f}`;
  } },
  { weight: 3, run: async (c) => {
    const rate = pick(c.r, [0.002, 0.002, 0.0001, 0, -0.001]);
    c.w.venue.engine.setFunding('BTC-PERP', rate);
    return `funding BTC ${rate}`;
  } },
  { weight: 6, run: async (c) => {
    const mode = pick(c.r, ['propose', 'auto', 'auto'] as const satisfies readonly HarvesterMode[]);
    const twice = c.r() < 0.15;
    const d = c.w.desk;
    if (twice) await Promise.all([settled(d.harvest(mode)), settled(d.harvest(mode))]);
    else await d.harvest(mode);
    if (!d.life.dead) await c.obs.afterHarvest();
    return `harvest ${mode}${twice ? ' x2' : ''}`;
  } },
  { weight: 4, run: async (c) => {
    const proposals = c.w.published.filter((p) => p.input.buttons?.some((b) => b.action === HARVEST_APPROVE));
    if (!proposals.length) return 'plan click: no proposal';
    const p = pick(c.r, proposals);
    const b = p.input.buttons!.find((x) => x.action === HARVEST_APPROVE)!;
    const id = (action: string) => encodeButtonId({ action, ref: b.ref, exp: b.exp });
    const kind = pick(c.r, ['approve', 'approve2', 'approve+reject', 'reject', 'approve+run'] as const);
    const d = c.w.desk;
    if (kind === 'approve') await d.click('bob', id(HARVEST_APPROVE));
    // A harvester run (its lock expired) meets the click that approves and executes the plan.
    else if (kind === 'approve+run') await Promise.all([d.click('bob', id(HARVEST_APPROVE)), settled(d.harvest('propose'))]);
    else if (kind === 'approve2') await Promise.all([d.click('bob', id(HARVEST_APPROVE)), d.click('carol', id(HARVEST_APPROVE))]);
    else if (kind === 'approve+reject') await Promise.all([d.click('bob', id(HARVEST_APPROVE)), d.click('carol', id(HARVEST_REJECT))]);
    else await d.click('carol', id(HARVEST_REJECT));
    return `plan click ${kind} ${b.ref}`;
  } },
  { weight: 3, run: async (c) => {
    // /cancel of a resting order (alone, or by two people at once), of all of them, or of an id that is not there.
    const open = c.w.venue.engine.listOrders({}, 'perp').filter((o) => o.status === 'new' || o.status === 'partially_filled');
    const kind = pick(c.r, ['one', 'one', 'two', 'all', 'unknown'] as const);
    const d = c.w.desk;
    if (kind === 'all' || (!open.length && kind !== 'unknown')) {
      const r = await d.run('alice', 'cancel', { order: 'all' });
      return `cancel all -> ${r.title ?? r.text?.slice(0, 40)}`;
    }
    if (kind === 'unknown') {
      const r = await d.run('alice', 'cancel', { order: 'P99999999' });
      return `cancel unknown -> ${r.text?.slice(0, 30)}`;
    }
    // Mostly the desk's own resting orders (their approvals end `canceled`), else one placed outside PerpDesk.
    const own = open.filter((x) => x.clientOrderId.startsWith('pd-'));
    const o = own.length && c.r() < 0.7 ? pick(c.r, own) : pick(c.r, open);
    if (kind === 'two') {
      await Promise.all([d.run('alice', 'cancel', { order: o.orderId }), d.run('dana', 'cancel', { order: o.orderId })]);
      return `cancel ${o.clientOrderId} x2`;
    }
    const r = await d.run('alice', 'cancel', { order: o.orderId });
    return `cancel ${o.clientOrderId} -> ${r.text?.slice(0, 40)}`;
  } },
  { weight: 3, run: async (c) => {
    // Someone trades on the venue's own screen: a position or a resting order PerpDesk did not place.
    const n = c.w.venue.engine.listOrders({}, 'perp').filter((o) => o.clientOrderId.startsWith('ext-')).length + 1;
    const side = pick(c.r, ['buy', 'sell'] as const);
    const quantity = Math.round((0.1 + c.r()) * 100) / 100;
    const mark = c.w.venue.engine.ticker('ETH-PERP').markPrice;
    const resting = c.r() < 0.5;
    const price = Math.round(mark * (side === 'buy' ? 0.93 : 1.07) * 100) / 100;
    try {
      c.w.venue.engine.placeOrder({ symbol: 'ETH-PERP', side, orderType: resting ? 'limit' : 'market', quantity, ...(resting ? { price } : {}), leverage: 2, reduceOnly: false, clientOrderId: `ext-${n}` }, c.w.now());
    } catch (e) {
      return `outside order refused: ${e instanceof Error ? e.message.slice(0, 40) : ''}`;
    }
    return `outside ${side} ${quantity} ETH ${resting ? `limit ${price}` : 'market'}`;
  } },
  { weight: 4, run: async (c) => {
    const reply = await c.w.desk.run('alice', 'flatten', { reason: 'fault test' });
    const b = buttonsOf(reply);
    if (!b) return `flatten -> ${reply.text?.slice(0, 40)}`;
    c.flattens.push(b);
    // Often approved at once: the emergency exit is rarely left waiting.
    if (c.r() < 0.6) {
      await c.w.desk.click(pick(c.r, ['bob', 'carol'] as const), b.approve);
      return 'flatten -> preview, approved';
    }
    return 'flatten -> preview';
  } },
  { weight: 5, run: async (c) => {
    if (!c.flattens.length) return 'flatten click: nothing to click';
    const p = pick(c.r, c.flattens);
    const kind = pick(c.r, ['approve', 'approve', 'approve', 'approve2', 'approve+reject', 'reject'] as const);
    const d = c.w.desk;
    if (kind === 'approve') await d.click(pick(c.r, ['bob', 'carol'] as const), p.approve);
    else if (kind === 'approve2') await Promise.all([d.click('bob', p.approve), d.click('carol', p.approve)]);
    else if (kind === 'approve+reject') await Promise.all([d.click('bob', p.approve), d.click('carol', p.reject)]);
    else await d.click('carol', p.reject);
    return `flatten click ${kind}`;
  } },
  { weight: 3, run: async (c) => {
    if (c.r() < 0.3) {
      c.w.desk.life.dead = true;
      return 'crash now';
    }
    const n = 1 + Math.floor(c.r() * 40);
    c.w.desk.life.crashAfter = n;
    return `crash after ${n} redis commands`;
  } },
];
const TOTAL = STEPS.reduce((s, x) => s + x.weight, 0);

function choose(r: () => number): Step {
  let x = r() * TOTAL;
  for (const s of STEPS) {
    x -= s.weight;
    if (x < 0) return s.run;
  }
  return STEPS[STEPS.length - 1]!.run;
}

async function afterStep(c: Ctx): Promise<void> {
  c.obs.checkFills();
  await c.obs.afterFlattens();
  if (c.w.desk.life.dead) {
    c.log.push('  restart');
    await settled(c.w.restart());
    if (c.w.desk.life.dead) await settled(c.w.restart());
    await c.obs.afterFlattens();
    await c.obs.checkRecords(false);
  }
}

/** Lifts every fault and lets the desk finish what it can: the state I4 and I5 are judged in. */
async function settle(c: Ctx): Promise<void> {
  const w = c.w;
  w.venue.faults.length = 0;
  w.venue.listFaults.length = 0;
  delete w.desk.life.crashAfter;
  for (const s of ['BTC-PERP', 'BTC-USD', 'ETH-PERP']) w.venue.engine.setFillModel(s, 'normal');
  if (w.desk.life.dead) await settled(w.restart());
  w.clock.t += RESUME_AFTER_MS + 1_000;
  w.venue.engine.tick(w.clock.t);
  c.obs.step += 1;
  await settled(w.desk.sweep());
  for (let round = 0; round < 3 && w.jobs.size; round++) {
    for (const id of [...w.jobs.keys()]) {
      try {
        await w.desk.runJob(id);
        w.jobs.delete(id);
      } catch {
        // retried next round
      }
    }
  }
  await settled(w.desk.harvest('off'));
  await settled(w.desk.sweep());
  c.obs.checkFills();
  await c.obs.afterFlattens();
  await c.obs.afterHarvest();
  const { approvals, plans } = await c.obs.checkRecords();
  await c.obs.checkBooks(approvals, plans);
}

export async function runSchedule(seed: number, o: ScheduleOptions): Promise<ScheduleResult> {
  const r = rng(seed);
  const prefix = `${o.prefix}-${seed}`;
  // Half the accounts are small enough that a few capped orders reach the account leverage cap; the others are
  // large enough that harvester hedges are sized at the notional cap.
  const w = new World(o.redis, prefix, START, r() < 0.5 ? 6_000 : 100_000);
  for (const [sym, px] of Object.entries(PRICES)) w.venue.engine.setPrice(sym, px);
  w.venue.engine.setFunding('ETH-PERP', 0);
  const obs = new Observer(o.redis, prefix, w.venue, CONFIG, w.published, w.now);
  const c: Ctx = { w, obs, r, log: [], previews: [], flattens: [] };
  // Half the desks start with a position someone opened on the venue's own screen: /flatten has work from step 1.
  if (r() < 0.5) {
    w.venue.engine.placeOrder({ symbol: 'ETH-PERP', side: r() < 0.5 ? 'buy' : 'sell', orderType: 'market', quantity: 0.5, leverage: 2, reduceOnly: false, clientOrderId: 'ext-0' }, w.now());
    c.log.push('0. outside position ETH 0.5');
  }
  const n = o.steps ?? 22;
  try {
    for (let i = 0; i < n; i++) {
      obs.step = i + 1;
      const step = choose(r);
      let text: string;
      try {
        text = await step(c);
      } catch (e) {
        text = e instanceof CrashError ? 'crashed' : `threw ${e instanceof Error ? e.message : String(e)}`;
      }
      c.log.push(`${i + 1}. ${text}`);
      await afterStep(c);
    }
    c.log.push('settle');
    await settle(c);
  } finally {
    w.desk.life.dead = true;
    if (!o.keep) await deleteKeys(o.redis, prefix);
  }
  const flattensRun = [...obs.flattenFinal.values()].filter((st) => st === 'done' || st === 'failed').length;
  return { seed, steps: c.log, violations: obs.violations, crashes: w.crashes, venueOrders: w.venue.arrivals.length, flattensRun, canceled: obs.canceled };
}

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

export interface RunSummary {
  schedules: number;
  ms: number;
  failing: ScheduleResult[];
  /** Violations by invariant and kind, over every schedule. */
  tally: Record<string, number>;
  crashes: number;
  venueOrders: number;
  flattensRun: number;
  canceled: number;
}

/** Runs schedules `from .. from+count-1`, `concurrency` at a time (each on its own prefix and venue). */
export async function runSchedules(from: number, count: number, o: ScheduleOptions & { concurrency?: number; onResult?: (r: ScheduleResult) => void }): Promise<RunSummary> {
  const t0 = performance.now();
  const failing: ScheduleResult[] = [];
  const tally: Record<string, number> = {};
  let next = from;
  let crashes = 0;
  let venueOrders = 0;
  let flattensRun = 0;
  let canceled = 0;
  const worker = async () => {
    while (next < from + count) {
      const seed = next++;
      const res = await runSchedule(seed, o);
      crashes += res.crashes;
      venueOrders += res.venueOrders;
      flattensRun += res.flattensRun;
      canceled += res.canceled;
      o.onResult?.(res);
      if (res.violations.length) {
        failing.push(res);
        for (const v of res.violations) tally[`${v.id} ${v.kind}`] = (tally[`${v.id} ${v.kind}`] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 8 }, worker));
  return { schedules: count, ms: performance.now() - t0, failing: failing.sort((a, b) => a.seed - b.seed), tally, crashes, venueOrders, flattensRun, canceled };
}

export function describeFailure(res: ScheduleResult): string {
  return [
    `seed ${res.seed} (replay: FUZZ_SEED=${res.seed} npx vitest run test/money-paths)`,
    ...res.violations.map((v) => `  ${v.id} ${v.kind} at step ${v.step}: ${v.detail}`),
    '  steps:',
    ...res.steps.map((s) => `    ${s}`),
  ].join('\n');
}
