/**
 * Alert pipeline speed. `npx tsx bench/alerts.bench.ts` (uses REDIS_URL, or starts a private redis-server).
 * 1. cascade-to-alert latency: a paper cascade → the detector (every 1 s, 2 s window) → the console notifier; and the
 *    pipeline alone (publish → delivered) for 200 alerts.
 * 2. fan-out: 1,000 messages (20 alerts × 50 subscribed private chats) through the real Telegram transport to the
 *    Telegram Bot API stand-in enforcing Telegram's limits (1/s per chat, 30/s overall). Reports delivery time vs
 *    the theoretical minimum (target ≥ 90 % of the allowed rate), sends over the limit (target 0) and lost (0).
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
import { PLATFORM_LIMITS } from '../src/services/alerts/pacing.js';
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

// ---- 2. fan-out to 50 Telegram chats under the platform limits ----------------------------------------------------
{
  const prefix = `bench-fanout-${Date.now()}`;
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
    return JSON.parse(await line) as { chats: Record<string, string[]>; rateLimited: { chatId: number; reason: string }[] };
  };
  const ours = structuredClone(PLATFORM_LIMITS);
  for (const l of Object.values(ours)) {
    l.chat.windowMs /= SCALE;
    l.gapMs /= SCALE;
    l.global.windowMs /= SCALE;
  }
  const telegram = new TelegramTransport({ desk: idleDesk, token, apiRoot, log: silentLogger });
  const notifiers = new Notifiers();
  notifiers.register(telegram);
  const paper = await PaperExchange.open({ redis: url, keyPrefix: prefix, volatilityScale: 0 });
  const bg = await startBackground({ redisUrl: url, config, exchange: paper, log: silentLogger, prefix, queuePrefix: `{${prefix}}`, notifiers, schedule: false, limits: ours });
  const chatIds = Array.from({ length: CHATS }, (_, i) => 10_000 + i);
  for (const id of chatIds) {
    await bg.services.subscriptions.subscribe({ platform: 'telegram', chatId: String(id), chatType: 'private' }, { symbols: null, minSeverity: 'info', signals: [] }, 'bench', Date.now());
  }
  const total = CHATS * ALERTS;
  let done = 0;
  const counter = setInterval(() => void bg.services.alerts.queue.getJobCounts('completed').then((c) => (done = c.completed ?? 0)), 100);
  const t0 = performance.now();
  for (let i = 0; i < ALERTS; i++) {
    await bg.services.alerts.publish({ key: `fan-${i}`, kind: 'trading', severity: 'warning', title: `Fan-out ${i}`, text: 'bench' });
  }
  // Completed jobs: the ALERTS fan-outs plus one delivery per message.
  await until(() => done >= total + ALERTS, 600_000 / SCALE + 60_000).catch(() => undefined);
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(counter);
  const r = await report(chatIds);
  const got = Object.values(r.chats).reduce((n, texts) => n + texts.length, 0);
  const globalRate = TELEGRAM_LIMITS.global.max / (TELEGRAM_LIMITS.global.windowMs / SCALE / 1000);
  const perChatRate = TELEGRAM_LIMITS.privateChat.max / (TELEGRAM_LIMITS.privateChat.windowMs / SCALE / 1000);
  const minSeconds = Math.max(total / globalRate, ALERTS / perChatRate);
  const ordered = Object.values(r.chats).every((texts) => texts.every((t, k) => new RegExp(`Fan-out ${k}\\b`).test(t)));
  console.log(JSON.stringify({
    bench: 'alert_fanout_telegram', messages: total, chats: CHATS, limits_scale: SCALE, delivered: got, lost: total - got,
    seconds: +seconds.toFixed(1), theoretical_min_s: +minSeconds.toFixed(1), share_of_allowed_rate: +(minSeconds / seconds).toFixed(3), target_share: 0.9,
    over_limit_429: r.rateLimited.length, target_over_limit: 0, per_chat_order_kept: ordered,
    note: 'real TelegramTransport → Bot API stand-in in its own process enforcing 1/s per chat and 30/s overall',
  }));
  await bg.close();
  await telegram.close();
  child.stdin!.end();
  await new Promise((res) => child.once('exit', res));
  await paper.close();
  await cleanup(prefix);
}

await closeRedis(redis);
await server?.stop();
if (dir) rmSync(dir, { recursive: true, force: true });
