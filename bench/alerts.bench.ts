/**
 * Alert pipeline speed. `npx tsx bench/alerts.bench.ts` (uses REDIS_URL, or starts a private redis-server).
 * 1. cascade-to-alert latency: a paper cascade → the detector (every 1 s, 2 s window) → the console notifier; and the
 *    pipeline alone (publish → delivered) for 200 alerts.
 * 2. fan-out: 1,000 messages (20 alerts × 50 subscribed private chats) through the real Telegram transport to the
 *    Telegram Bot API stand-in enforcing Telegram's limits (1/s per chat, 30/s overall). Reports delivery time vs
 *    the theoretical minimum (target ≥ 90 % of the allowed rate), sends over the limit (target 0) and lost (0).
 * 3. 1,000 alerts (every 50th critical) to 10 groups + 40 private chats: achieved vs allowed rate, 429s, alerts lost
 *    (missing from a chat as a message or a digest line), the longest wait of a critical alert.
 *    BENCH_SCALE=k multiplies every limit by k on both sides (a quicker run with the same shape).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TELEGRAM_LIMITS } from '../test/fakes/telegram/index.js';
import { commands } from '../commands/registry.js';
import { startBackground } from '../jobs/background.js';
import { loadConfig } from '../src/config/env.js';
import { PaperExchange } from '../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../src/log.js';
import { QUEUES } from '../src/queues/names.js';
import { closeRedis, createRedis } from '../src/queues/redis.js';
import { startRedisServer } from '../src/queues/redis-server.js';
import { JOB_NAMES } from '../src/queues/schedulers.js';
import { Pacer, scaleLimits } from '../src/services/alerts/pacing.js';
import { DEFAULT_PREFS } from '../src/services/alerts/types.js';
import { Notifiers, type MessageRef, type Notifier } from '../src/services/alerts/notifier.js';
import type { Reply } from '../src/chat/reply.js';
import { TelegramTransport } from '../src/transports/telegram.js';
import type { Desk } from '../src/transports/desk.js';

const HOUR = 3_600_000;
const SCALE = Number(process.env.BENCH_SCALE ?? '1');
const CHATS = 50;
const ALERTS = 20;

class TimingNotifier implements Notifier {
  readonly platform = 'console' as const;
  readonly arrivals: { title: string; at: number }[] = [];
  #n = 0;
  async send(chatId: string, reply: Reply): Promise<MessageRef> {
    this.arrivals.push({ title: reply.title ?? '', at: performance.now() });
    return { platform: 'console', chatId, messageId: `b${++this.#n}` };
  }
  async edit(): Promise<void> {}
}

const idleDesk: Desk = { commands, command: async () => ({}), button: async () => ({}), suggestSymbols: async () => [], messageSent: async () => {} };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

let dir: string | undefined;
let server: Awaited<ReturnType<typeof startRedisServer>> | undefined;
let url = process.env.REDIS_URL;
if (!url) {
  dir = mkdtempSync(join(tmpdir(), 'pd-bench-alerts-'));
  server = await startRedisServer({ dataDir: dir });
  url = server.url;
}
const redis = createRedis(url, 'client');
const config = loadConfig({ EXCHANGE: 'paper', HTTP_PORT: '0' });

async function cleanup(prefix: string): Promise<void> {
  for (const name of [QUEUES.market, QUEUES.notify]) {
    const q = new Queue(name, { connection: redis, prefix: `{${prefix}}` });
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
  }
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

// ---- 1. cascade-to-alert latency -------------------------------------------------------------------------------
{
  const prefix = `bench-cascade-${Date.now()}`;
  const paper = await PaperExchange.open({ redis: url, keyPrefix: prefix, volatilityScale: 0 });
  paper.start(50);
  const notifier = new TimingNotifier();
  const notifiers = new Notifiers();
  notifiers.register(notifier);
  const every = { [JOB_NAMES.cascade]: 1_000, [JOB_NAMES.risk]: HOUR, [JOB_NAMES.reminder]: HOUR, [JOB_NAMES.basis]: HOUR, [JOB_NAMES.harvester]: HOUR };
  const bg = await startBackground({
    redisUrl: url, config, exchange: paper, log: silentLogger, prefix, queuePrefix: `{${prefix}}`, notifiers, every,
    tuning: { cascadeWindowMs: 2_000, cascadeCooldownMs: 60_000 },
  });
  await new Promise((r) => setTimeout(r, 2_600)); // a window of history
  const latencies: number[] = [];
  for (const symbol of ['BTC-PERP', 'ETH-PERP', 'SOL-PERP']) {
    const seen = notifier.arrivals.length;
    const t0 = performance.now();
    await paper.startCascade(symbol, { oiDropPct: 10, priceDropPct: 5, steps: 1 });
    await until(() => notifier.arrivals.slice(seen).some((a) => a.title.includes(symbol)), 10_000);
    latencies.push(notifier.arrivals.slice(seen).find((a) => a.title.includes(symbol))!.at - t0);
  }
  console.log(JSON.stringify({
    bench: 'cascade_to_alert_latency', detector_every_ms: 1_000, runs_ms: latencies.map((l) => Math.round(l)), median_ms: Math.round(median(latencies)),
    note: 'paper cascade → detector → notify queue → console; bounded by one detector interval plus the pipeline',
  }));
  const pipeline: number[] = [];
  for (let i = 0; i < 200; i++) {
    const seen = notifier.arrivals.length;
    const t0 = performance.now();
    await bg.services.alerts.publish({ key: `lat-${i}`, kind: 'trading', severity: 'info', title: `Latency ${i}` });
    await until(() => notifier.arrivals.length > seen, 5_000);
    pipeline.push(notifier.arrivals[seen]!.at - t0);
  }
  pipeline.sort((a, b) => a - b);
  console.log(JSON.stringify({ bench: 'alert_publish_to_delivered_console', alerts: 200, p50_ms: +median(pipeline).toFixed(1), p95_ms: +pipeline[Math.floor(pipeline.length * 0.95)]!.toFixed(1) }));
  await bg.close();
  await paper.close();
  await cleanup(prefix);
}

// ---- Telegram under its limits: the stand-in in its own process enforcing them, the real transport and pipeline ----

interface ChildReport {
  chats: Record<string, { text: string; sentAt: number }[]>;
  rateLimited: { chatId: number; reason: string }[];
}

/** The Bot API stand-in in its own process, a real TelegramTransport with the Redis pacer, the notify worker. */
async function telegramRig(prefix: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'support', 'telegram-child.ts')], {
    env: { ...process.env, BENCH_SCALE: String(SCALE) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const nextLine = () => new Promise<string>((r) => lines.once('line', r));
  const [, apiRoot, token] = (await nextLine()).split(' ') as [string, string, string];
  const report = async (ids: number[]) => {
    const line = nextLine();
    child.stdin!.write(`report ${ids.join(' ')}\n`);
    return JSON.parse(await line) as ChildReport;
  };
  const limits = scaleLimits(SCALE);
  const telegram = new TelegramTransport({ desk: idleDesk, token, apiRoot, log: silentLogger, pacer: new Pacer(redis, prefix, limits) });
  const notifiers = new Notifiers();
  notifiers.register(telegram);
  const paper = await PaperExchange.open({ redis: url!, keyPrefix: prefix, volatilityScale: 0 });
  const bg = await startBackground({ redisUrl: url!, config, exchange: paper, log: silentLogger, prefix, queuePrefix: `{${prefix}}`, notifiers, schedule: false, limits });
  const subscribe = async (chatId: number) =>
    bg.services.subscriptions.subscribe({ platform: 'telegram', chatId: String(chatId), chatType: chatId < 0 ? 'group' : 'private' }, DEFAULT_PREFS, 'bench', Date.now());
  return {
    bg,
    report,
    subscribe,
    async close() {
      await bg.close();
      await telegram.close();
      child.stdin!.end();
      await new Promise((res) => child.once('exit', res));
      await paper.close();
      await cleanup(prefix);
    },
  };
}

const countBy = (xs: string[]) => Object.fromEntries([...new Set(xs)].map((x) => [x, xs.filter((y) => y === x).length]));
const rate = (l: { max: number; windowMs: number }) => l.max / (l.windowMs / SCALE / 1000);

// ---- 2. fan-out to 50 private Telegram chats: throughput at the bot-wide limit -----------------------------------
{
  const rig = await telegramRig(`bench-fanout-${Date.now()}`);
  const chatIds = Array.from({ length: CHATS }, (_, i) => 10_000 + i);
  for (const id of chatIds) await rig.subscribe(id);
  const total = CHATS * ALERTS;
  const t0 = Date.now();
  for (let i = 0; i < ALERTS; i++) {
    await rig.bg.services.alerts.publish({ key: `fan-${i}`, kind: 'trading', severity: 'warning', title: `Fan-out ${i}`, text: 'bench' });
  }
  let r = await rig.report(chatIds);
  const count = (x: ChildReport) => Object.values(x.chats).reduce((n, m) => n + m.length, 0);
  for (const deadline = Date.now() + 600_000 / SCALE + 60_000; count(r) < total && Date.now() < deadline; r = await rig.report(chatIds)) {
    await new Promise((res) => setTimeout(res, 100));
  }
  const last = Math.max(...Object.values(r.chats).flatMap((m) => m.map((x) => x.sentAt)));
  const seconds = (last - t0) / 1000;
  const got = count(r);
  const minSeconds = Math.max(total / rate(TELEGRAM_LIMITS.global), (ALERTS - 1) / rate(TELEGRAM_LIMITS.privateChat));
  const ordered = Object.values(r.chats).every((m) => m.every((x, k) => new RegExp(`Fan-out ${k}\\b`).test(x.text)));
  console.log(JSON.stringify({
    bench: 'alert_fanout_telegram', messages: total, chats: CHATS, limits_scale: SCALE, delivered: got, lost: total - got,
    seconds: +seconds.toFixed(1), theoretical_min_s: +minSeconds.toFixed(1), share_of_allowed_rate: +(minSeconds / seconds).toFixed(3), target_share: 0.9,
    over_limit_429: r.rateLimited.length, over_limit_by_scope: countBy(r.rateLimited.map((x) => x.reason)), target_over_limit: 0, per_chat_order_kept: ordered,
    note: 'real TelegramTransport → Bot API stand-in in its own process enforcing 1/s per chat and 30/s overall',
  }));
  await rig.close();
}

// ---- 3. 1,000 alerts to 10 groups + 40 private chats: urgent lane, digests, nothing lost --------------------------
{
  const N = 1_000;
  const CRITICAL_EVERY = 50;
  const rig = await telegramRig(`bench-digest-${Date.now()}`);
  const groups = Array.from({ length: 10 }, (_, i) => -1_000_000_100 - i);
  const privates = Array.from({ length: 40 }, (_, i) => 20_000 + i);
  const all = [...groups, ...privates];
  for (const id of all) await rig.subscribe(id);
  const publishedAt: number[] = [];
  const critical = (i: number) => i % CRITICAL_EVERY === CRITICAL_EVERY - 1;
  const t0 = Date.now();
  for (let i = 0; i < N; i++) {
    publishedAt.push(Date.now());
    await rig.bg.services.alerts.publish(
      critical(i)
        ? { key: `digest-${i}`, kind: 'cascade', severity: 'critical', symbol: 'ETH-PERP', title: `Bench #${i} cascade ETH-PERP`, text: 'OI -6% in 2 min' }
        : { key: `digest-${i}`, kind: 'funding_reminder', severity: 'info', symbol: 'BTC-PERP', title: `Bench #${i} funding soon`, text: 'BTC-PERP funding in 10 min' },
    );
  }
  const publishSeconds = (Date.now() - t0) / 1000;
  // Which alerts a chat has seen (as a message of its own or a line of a digest), and when each first showed.
  const seen = (msgs: { text: string; sentAt: number }[]) => {
    const at = new Map<number, number>();
    for (const m of msgs) for (const x of m.text.matchAll(/Bench #(\d+)/g)) if (!at.has(Number(x[1]))) at.set(Number(x[1]), m.sentAt);
    return at;
  };
  let r = await rig.report(all);
  const complete = (x: ChildReport) => all.every((id) => seen(x.chats[String(id)] ?? []).size >= N);
  for (const deadline = Date.now() + 900_000 / SCALE + 60_000; !complete(r) && Date.now() < deadline; r = await rig.report(all)) {
    await new Promise((res) => setTimeout(res, 250));
  }
  const stats = (ids: number[]) => {
    let messages = 0;
    let digests = 0;
    let lost = 0;
    let worstCriticalMs = 0;
    let lastAt = t0;
    for (const id of ids) {
      const msgs = r.chats[String(id)] ?? [];
      messages += msgs.length;
      digests += msgs.filter((m) => m.text.includes('Digest:')).length;
      const at = seen(msgs);
      lost += N - at.size;
      for (let i = CRITICAL_EVERY - 1; i < N; i += CRITICAL_EVERY) worstCriticalMs = Math.max(worstCriticalMs, (at.get(i) ?? Infinity) - publishedAt[i]!);
      lastAt = Math.max(lastAt, ...msgs.map((m) => m.sentAt));
    }
    return { messages, digests, lost, worstCriticalMs, seconds: (lastAt - t0) / 1000 };
  };
  const g = stats(groups);
  const p = stats(privates);
  const seconds = Math.max(g.seconds, p.seconds);
  const messages = g.messages + p.messages;
  // The fastest any sender could have delivered these messages: the bot-wide limit, each private chat's 1/s, each
  // group's 20/min (its first 20 at once).
  const perGroup = g.messages / groups.length;
  const perPrivate = p.messages / privates.length;
  const minSeconds = Math.max(
    messages / rate(TELEGRAM_LIMITS.global),
    (perPrivate - 1) / rate(TELEGRAM_LIMITS.privateChat),
    Math.max(0, perGroup - TELEGRAM_LIMITS.groupChat.max) / rate(TELEGRAM_LIMITS.groupChat),
  );
  console.log(JSON.stringify({
    bench: 'alert_digest_telegram', alerts: N, critical: N / CRITICAL_EVERY, groups: groups.length, private_chats: privates.length, limits_scale: SCALE,
    publish_s: +publishSeconds.toFixed(1), seconds: +seconds.toFixed(1),
    messages, digests: g.digests + p.digests, achieved_msgs_per_s: +(messages / seconds).toFixed(2), allowed_msgs_per_s: rate(TELEGRAM_LIMITS.global),
    theoretical_min_s: +minSeconds.toFixed(1), share_of_allowed_rate: +(minSeconds / seconds).toFixed(3),
    over_limit_429: r.rateLimited.length, over_limit_by_scope: countBy(r.rateLimited.map((x) => x.reason)), lost: g.lost + p.lost,
    longest_critical_wait_s: { groups: +(g.worstCriticalMs / 1000).toFixed(1), private: +(p.worstCriticalMs / 1000).toFixed(1) },
    note: 'every alert to all 50 chats (50,000 deliveries); routine ones merged into digests when a chat would need > 30 s; lost = alerts missing from a chat in any form',
  }));
  await rig.close();
}

await closeRedis(redis);
await server?.stop();
if (dir) rmSync(dir, { recursive: true, force: true });
