/**
 * A desk for approval/order tests on real parts: real Redis (own key prefix), real BullMQ (own queue prefix), the
 * paper exchange in process with a frozen market, the real dispatcher and registry. Only the chat transport is a
 * stand-in: a Notifier that records what it would send or edit.
 */
import type { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { commands, buttons } from '../../commands/registry.js';
import { dispatch, dispatchButton } from '../../commands/dispatch.js';
import type { CommandContext, Invocation } from '../../commands/context.js';
import type { ButtonResult } from '../../commands/define.js';
import type { Reply } from '../../src/chat/reply.js';
import type { ApprovalRecord, ApprovalStatus } from '../../src/services/approvals/types.js';
import { loadConfig, type Config } from '../../src/config/env.js';
import type { Exchange } from '../../src/exchange/port.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../../src/log.js';
import { QUEUES } from '../../src/queues/names.js';
import { buildServices } from '../../src/services/build.js';
import { alertDestinations } from '../../src/services/alerts/announce.js';
import type { MessageRef, Notifier } from '../../src/services/alerts/notifier.js';
import { startOrderProcessing, type OrderProcessing } from '../../jobs/place-order.js';
import { closeTestRedis, deletePrefix, redisUrl, testPrefix, testRedis } from '../support/redis.js';

export const ACTORS = {
  /** trader and approver */
  alice: { platform: 'discord', userId: '1001', displayName: 'Alice', roleIds: [] },
  /** approver */
  bob: { platform: 'discord', userId: '2002', displayName: 'Bob', roleIds: [] },
  /** approver */
  carol: { platform: 'discord', userId: '3003', displayName: 'Carol', roleIds: [] },
  /** admin (holds every role) */
  dana: { platform: 'discord', userId: '4004', displayName: 'Dana', roleIds: [] },
  /** nobody: viewer only */
  victor: { platform: 'discord', userId: '9009', displayName: 'Victor', roleIds: [] },
  /** Alice's Telegram account (one person with `alice` only when PERPDESK_PEOPLE says so) */
  aliceTg: { platform: 'telegram', userId: '1101', displayName: '@alice', roleIds: [] },
  /** Bob's Telegram account (likewise) */
  bobTg: { platform: 'telegram', userId: '2202', displayName: '@bob', roleIds: [] },
} as const;
export type ActorName = keyof typeof ACTORS;

export const CHAT = '777000';
export const ALERT_CHANNEL = '55555';

/** Records every message the desk sends or edits, like a chat would show them. */
export class RecordingNotifier implements Notifier {
  readonly platform = 'discord' as const;
  readonly sent: { chatId: string; reply: Reply }[] = [];
  readonly edits: { ref: MessageRef; reply: Reply }[] = [];
  #n = 0;

  async send(chatId: string, reply: Reply): Promise<MessageRef> {
    this.sent.push({ chatId, reply });
    return { platform: 'discord', chatId, messageId: `sent-${++this.#n}` };
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    this.edits.push({ ref, reply });
  }
}

export function invocation(who: ActorName, chatId = CHAT): Invocation {
  const a = ACTORS[who];
  return { platform: a.platform, actor: { ...a, roleIds: [...a.roleIds] }, chatId };
}

export interface Harness {
  prefix: string;
  queuePrefix: string;
  redis: Redis;
  paper: PaperExchange;
  ctx: CommandContext;
  config: Config;
  clock: { t: number };
  notifier: RecordingNotifier;
  run(who: ActorName, name: string, args: Record<string, unknown>): Promise<Reply>;
  /** Runs a command and, like a transport, reports where a tracked reply landed. */
  preview(who: ActorName, name: string, args: Record<string, unknown>): Promise<Reply>;
  click(who: ActorName, buttonId: string, chatId?: string): Promise<ButtonResult>;
  startWorker(exchange?: Exchange): Promise<OrderProcessing>;
  close(): Promise<void>;
}

export function buttonOf(reply: Reply, label: 'Approve' | 'Reject'): string {
  const b = reply.buttons?.find((x) => x.label === label);
  if (!b) throw new Error(`reply has no ${label} button: ${reply.text ?? ''}`);
  return b.id;
}

/** Polls until `check` returns a value (not undefined/false); real workers finish on their own schedule. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A $1,000 2x market long in BTC: small enough for every cap. */
export const SMALL_ORDER = { symbol: 'btc', side: 'long', size_usd: 1000, leverage: 2 } as const;

/** Preview by Alice, approved by Bob, while no worker runs: persisted `approved`, job waiting. Returns the approval id. */
export async function approvedWithoutWorker(h: Harness, order: Record<string, unknown> = SMALL_ORDER): Promise<string> {
  const reply = await h.preview('alice', 'order', order);
  const click = await h.click('bob', buttonOf(reply, 'Approve'));
  if (click.notice !== 'Approved: placing the order.') throw new Error(`not approved: ${click.notice ?? ''}`);
  const rec = await h.ctx.approvals.get(reply.track!);
  if (rec?.status !== 'approved') throw new Error(`approval is ${rec?.status ?? 'missing'}, not approved`);
  return reply.track!;
}

/** Waits until the approval reaches `want`: the real worker moves it on its own schedule. */
export async function reachStatus(h: Harness, id: string, want: ApprovalStatus): Promise<ApprovalRecord> {
  return eventually(async () => {
    const r = await h.ctx.approvals.get(id);
    return r?.status === want ? r : undefined;
  });
}

export const BASE_ENV: Record<string, string> = {
  EXCHANGE: 'paper',
  PERPDESK_TRADERS: 'discord:1001',
  PERPDESK_APPROVERS: 'discord:1001,discord:2002,discord:3003',
  PERPDESK_ADMINS: 'discord:4004',
  ALLOW_SELF_APPROVAL: 'false',
  DISCORD_ALERT_CHANNEL_ID: ALERT_CHANNEL,
  // The team's chat: its members (Victor included) may read; the desk is closed elsewhere.
  PERPDESK_CHATS: `discord-channel:${CHAT}`,
  HTTP_PORT: '0',
};

export async function makeHarness(env: Record<string, string> = {}): Promise<Harness> {
  const prefix = testPrefix();
  const queuePrefix = `{${prefix}}`;
  const redis = testRedis();
  const config = loadConfig({ ...BASE_ENV, ...env });
  const clock = { t: Date.UTC(2024, 0, 15, 3, 0, 0) };
  const now = () => clock.t;
  const paper = await PaperExchange.open({ redis, keyPrefix: prefix, volatilityScale: 0, clock: now });
  await paper.setPrice('BTC-PERP', 65_000);
  await paper.setPrice('ETH-PERP', 3_500);
  const status = async () => ({ exchange: 'paper', exchangeOk: true, redisOk: true, queues: [], schedulers: [], transports: [], startedAt: 0 });
  const services = buildServices({ redis, prefix, exchange: paper, now, status, queuePrefix, alertDestinations: alertDestinations(config) });
  const notifier = new RecordingNotifier();
  services.notifiers.register(notifier);
  const ctx: CommandContext = { ...services, exchange: paper, config, log: silentLogger, now, commands };
  const workers: OrderProcessing[] = [];
  let refs = 0;

  const h: Harness = {
    prefix, queuePrefix, redis, paper, ctx, config, clock, notifier,
    run: (who, name, args) => dispatch(ctx, commands, name, args, invocation(who)),
    async preview(who, name, args) {
      const reply = await dispatch(ctx, commands, name, args, invocation(who));
      if (reply.track) await ctx.messageRefs.add(reply.track, { platform: 'discord', chatId: CHAT, messageId: `preview-${++refs}` });
      return reply;
    },
    async click(who, id, chatId = CHAT) {
      // Like a transport: answer (return), after which the work that follows the answer runs.
      const r = await dispatchButton(ctx, buttons, id, invocation(who, chatId));
      await r.afterAnswer?.();
      return r;
    },
    async startWorker(exchange: Exchange = paper) {
      const w = await startOrderProcessing({ redisUrl: redisUrl(), services, exchange, config, log: silentLogger, now, sweepMs: 0 });
      workers.push(w);
      return w;
    },
    async close() {
      for (const w of workers.splice(0)) await w.close();
      const q = new Queue(QUEUES.orders, { connection: redis, prefix: queuePrefix });
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
      await services.orderQueue.close();
      await paper.close();
      await deletePrefix(redis, prefix);
      await deletePrefix(redis, queuePrefix);
      await closeTestRedis();
    },
  };
  return h;
}

/**
 * The exchange with its placeOrder replaced: a stand-in for what happens at the machine edge (a lost answer, a
 * dead process), while every other call reaches the real paper exchange.
 */
export function withPlaceOrder(base: Exchange, placeOrder: Exchange['placeOrder']): Exchange {
  return new Proxy(base, {
    get(target, prop) {
      if (prop === 'placeOrder') return placeOrder;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
