/**
 * Background jobs on real parts: real Redis (own key prefix), real BullMQ (own hash-tagged queue prefix), the paper
 * exchange in process with a frozen market, the real alert pipeline and notify worker. Only the chat is a stand-in:
 * a Notifier that records what it would send or edit (or the Telegram wire stand-in, where a test says so).
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { commands, buttons } from '../../../commands/registry.js';
import { dispatch, dispatchButton } from '../../../commands/dispatch.js';
import type { CommandContext, Invocation } from '../../../commands/context.js';
import type { ButtonResult } from '../../../commands/define.js';
import type { Reply } from '../../../src/chat/reply.js';
import { loadConfig, type Config } from '../../../src/config/env.js';
import { ExchangeError, type Exchange } from '../../../src/exchange/port.js';
import { PaperExchange } from '../../../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../../../src/log.js';
import { QUEUES } from '../../../src/queues/names.js';
import type { JobName } from '../../../src/queues/schedulers.js';
import type { PLATFORM_LIMITS } from '../../../src/services/alerts/pacing.js';
import { DeliveryError, Notifiers, type MessageRef, type Notifier } from '../../../src/services/alerts/notifier.js';
import { startBackground, type Background } from '../../../jobs/background.js';
import { proposalTrack } from '../../../src/services/harvester/plans.js';
import type { HedgePlan } from '../../../src/services/harvester/state.js';
import type { JobTuning } from '../../../jobs/job-context.js';
import type { VenueSource } from '../../../src/venues/types.js';
import { closeTestRedis, deletePrefix, redisUrl, testPrefix, testRedis } from '../../support/redis.js';

/** Records what a chat would show: every sent message and every edit, in order. */
export class RecordingNotifier implements Notifier {
  readonly sent: { chatId: string; reply: Reply; messageId: string; at: number }[] = [];
  readonly edits: { ref: MessageRef; reply: Reply; at: number }[] = [];
  /** Errors thrown by the next sends, in order (a 429, a 403, ...). */
  readonly failures: DeliveryError[] = [];
  #n = 0;

  constructor(readonly platform: Notifier['platform'] = 'console') {}

  async send(chatId: string, reply: Reply): Promise<MessageRef> {
    const f = this.failures.shift();
    if (f) throw f;
    const messageId = `m${++this.#n}`;
    this.sent.push({ chatId, reply, messageId, at: Date.now() });
    return { platform: this.platform, chatId, messageId };
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    this.edits.push({ ref, reply, at: Date.now() });
  }

  titles(re: RegExp): string[] {
    return this.sent.map((s) => s.reply.title ?? '').filter((t) => re.test(t));
  }
}

export const ADMIN_ID = '42';

export function telegramInvocation(userId = ADMIN_ID, chatId = userId): Invocation {
  return {
    platform: 'telegram',
    actor: { platform: 'telegram', userId, displayName: `user${userId}`, roleIds: [] },
    chatId,
    chatType: chatId.startsWith('-') ? 'group' : 'private',
  };
}

export const CONSOLE: Invocation = {
  platform: 'console',
  actor: { platform: 'console', userId: 'console', displayName: 'console', roleIds: [] },
  chatId: 'console',
};

export interface JobsHarness {
  prefix: string;
  queuePrefix: string;
  redis: Redis;
  paper: PaperExchange;
  config: Config;
  bg: Background;
  ctx: CommandContext;
  notifier: RecordingNotifier;
  notifiers: Notifiers;
  run(name: string, args: Record<string, unknown>, inv?: Invocation): Promise<Reply>;
  click(id: string, inv?: Invocation): Promise<ButtonResult>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  tuning?: Partial<JobTuning>;
  /** Scheduler periods; without it no scheduler is created and tests call the jobs themselves. */
  every?: Partial<Record<JobName, number>>;
  /** Extra notifiers (e.g. a Telegram transport on the stand-in). */
  extraNotifiers?: Notifier[];
  /** No notify worker: alerts stay queued. */
  noDelivery?: boolean;
  /** What the jobs trade on, in front of the paper market (e.g. an HTTP client to it over the paper server). */
  exchange?: (paper: PaperExchange) => Exchange | Promise<Exchange>;
  /** Paper ticks every this many ms (0 = tests tick). */
  tickMs?: number;
  /** Pacing limits of the notify worker (e.g. scaleLimits(k) against a stand-in with the same windows). */
  limits?: typeof PLATFORM_LIMITS;
  /** Real venues for the venue sampler (MARKET_VENUES through a relay); none by default. */
  venues?: VenueSource;
}

export async function jobsHarness(o: HarnessOptions = {}): Promise<JobsHarness> {
  const prefix = testPrefix();
  const queuePrefix = `{${prefix}}`;
  const redis = testRedis();
  const config = loadConfig({
    EXCHANGE: 'paper',
    HTTP_PORT: '0',
    PERPDESK_ADMINS: `telegram:${ADMIN_ID}`,
    PERPDESK_APPROVERS: `telegram:${ADMIN_ID}`,
    ...o.env,
  });
  const paper = await PaperExchange.open({ redis, keyPrefix: prefix, volatilityScale: 0 });
  await paper.setPrice('BTC-PERP', 65_000);
  await paper.setPrice('ETH-PERP', 3_500);
  if (o.tickMs) paper.start(o.tickMs);
  const exchange = o.exchange ? await o.exchange(paper) : paper;
  const notifier = new RecordingNotifier('console');
  const notifiers = new Notifiers();
  notifiers.register(notifier);
  for (const n of o.extraNotifiers ?? []) notifiers.register(n);
  const bg = await startBackground({
    redisUrl: redisUrl(),
    config,
    exchange,
    log: silentLogger,
    prefix,
    queuePrefix,
    notifiers: o.noDelivery ? undefined : notifiers,
    tuning: o.tuning,
    every: o.every,
    schedule: o.every !== undefined,
    limits: o.limits,
    venues: o.venues ?? null,
  });
  const ctx: CommandContext = { ...bg.services, notifiers, exchange, config, log: silentLogger, now: Date.now, commands };
  return {
    prefix,
    queuePrefix,
    redis,
    paper,
    config,
    bg,
    ctx,
    notifier,
    notifiers,
    run: (name, args, inv = CONSOLE) => dispatch(ctx, commands, name, args, inv),
    click: (id, inv = CONSOLE) => dispatchButton(ctx, buttons, id, inv),
    async close() {
      await bg.close();
      await paper.close();
      for (const name of [QUEUES.market, QUEUES.notify]) {
        const q = new Queue(name, { connection: redis, prefix: queuePrefix });
        await q.obliterate({ force: true }).catch(() => undefined);
        await q.close();
      }
      await deletePrefix(redis, prefix);
      await deletePrefix(redis, queuePrefix);
      await closeTestRedis();
    },
  };
}

/**
 * The paper exchange whose spot venue refuses every order while `refusing()` says so: a stand-in for the second
 * leg of a hedge failing at the exchange.
 */
export function spotRefusing(paper: PaperExchange, refusing: () => boolean = () => true): Exchange {
  return new Proxy(paper, {
    get(target, prop) {
      if (prop === 'placeSpotOrder' && refusing()) return async () => { throw new ExchangeError('rejected', 'insufficient spot balance', 400, 'insufficient_balance'); };
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as unknown as Exchange;
}

/** A harvester entry plan (short perp, long spot BTC) as the job would make it, for tests that create plans directly. */
export function entryPlan(id: string, createdAt: number, quantity = 0.1): HedgePlan {
  return {
    id, action: 'enter', symbol: 'BTC-PERP', spotSymbol: 'BTC-USD', perpSide: 'short',
    legs: [
      { market: 'perp', symbol: 'BTC-PERP', side: 'sell', quantity, reduceOnly: false },
      { market: 'spot', symbol: 'BTC-USD', side: 'buy', quantity, reduceOnly: false },
    ],
    leverage: 2, mark: 65_000, spot: 65_000, annRate: 1.095, predictedAnnRate: null, reason: 'test', createdAt,
  };
}

/**
 * A plan the test created itself (not through the harvester job, whose alert would be posted): record it as shown in
 * the chat of `inv`, since an Approve / Reject click counts only where the proposal was posted.
 */
export async function showPlan(h: Pick<JobsHarness, 'ctx'>, planId: string, inv: Invocation = CONSOLE): Promise<void> {
  await h.ctx.messageRefs.add(proposalTrack(planId), { platform: inv.platform, chatId: inv.chatId, messageId: `shown-${planId}` });
}

/** Polls until `check` returns a value (not undefined/false). */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the notify queue has nothing waiting, active or delayed. */
export async function drained(h: JobsHarness, timeoutMs = 10_000): Promise<void> {
  await eventually(async () => {
    const c = await h.bg.services.alerts.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) === 0;
  }, timeoutMs, 'notify queue drained');
}
