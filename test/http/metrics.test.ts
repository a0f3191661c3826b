/**
 * /metrics of the whole app and of a real `npm run worker` process: commands, an approval to filled, an alert
 * delivery, a venue 429 and a Telegram 429 move the counters with the right labels, no label carries an id, and
 * every metric of the Grafana dashboard in ops/ is served by the bot or the worker.
 *
 * The app trades through the Purple Flea client against the paper exchange's HTTP server, behind a stand-in that
 * forwards every call and answers 429 when the test asks; Telegram is the stand-in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { startExchangeStandIn, type ExchangeStandIn } from '../fakes/exchange-stand-in.js';
import { startPaperServer, type PaperServerHandle } from '../../src/exchange/paper-server.js';
import { PurpleFleaClient } from '../../src/exchange/purpleflea.js';
import { createRedis, closeRedis } from '../../src/queues/redis.js';
import { deletePrefix, redisUrl } from '../support/redis.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { dashboardMetricNames, declaredNames, parseExposition, type Sample } from './metrics-support.js';

const root = new URL('../../', import.meta.url).pathname;
// Ids as long as real ones, so a leak into a label value would show as a long digit string.
const TRADER = 5550001111;
const APPROVER = 5550002222;
const GROUP = -1009876543210;

/** Every route the app calls; the stand-in forwards each to the paper server. */
const ROUTES = [
  'GET /perp/instruments', 'GET /perp/funding', 'GET /perp/ticker', 'GET /spot/ticker', 'GET /perp/oi', 'GET /perp/positions',
  'GET /perp/accrued-funding', 'GET /account', 'GET /perp/orders', 'GET /spot/orders', 'POST /perp/orders', 'POST /spot/orders',
];

let tg: TelegramStandIn;
let venue: ExchangeStandIn;
let paperServer: PaperServerHandle;
let t: TestApp;
/** The next call of these routes answers 429 (Retry-After: 0), once each. */
const throttle = new Set<string>();

const worker: { child?: ChildProcess; err: string; url?: string; exited?: Promise<unknown> } = { err: '' };
/** The worker runs with the default key prefixes; its own Redis database keeps it apart from the other tests. */
const workerRedisUrl = (): string => {
  const u = new URL(redisUrl());
  u.pathname = '/9';
  return u.toString();
};

async function scrape(url: string): Promise<{ text: string; samples: Sample[] }> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, samples: parseExposition(text) };
}

/** The value of one series (0 when absent); `labels` must match exactly the series' labels given. */
function value(samples: Sample[], name: string, labels: Record<string, string>): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, ms = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}\n${worker.err.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot' });
  t = await startTestApp(
    {
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_ALERT_CHAT_ID: String(GROUP),
      PERPDESK_TRADERS: `telegram:${TRADER}`,
      PERPDESK_CHATS: `telegram:${GROUP}`,
      PERPDESK_APPROVERS: `telegram:${TRADER},telegram:${APPROVER}`,
      ALLOW_SELF_APPROVAL: 'false',
    },
    {
      exchange: async (paper) => {
        paperServer = await startPaperServer({ exchange: paper, port: 0 });
        venue = await startExchangeStandIn();
        for (const route of ROUTES) {
          venue.on(route, async (req) => {
            if (throttle.delete(route)) return { status: 429, headers: { 'retry-after': '0' }, body: { error: { code: 'rate_limited', message: 'slow down' } } };
            const qs = req.query.toString();
            const res = await fetch(`${paperServer.url}${req.path}${qs ? `?${qs}` : ''}`, {
              method: req.method,
              headers: { 'x-api-key': 'paper', 'content-type': 'application/json' },
              ...(req.method === 'POST' ? { body: JSON.stringify(req.body) } : {}),
            });
            return { status: res.status, raw: await res.text() };
          });
        }
        return new PurpleFleaClient({ baseUrl: venue.url, apiKey: 'venue-key', backoff: { baseDelayMs: 5, maxDelayMs: 20 } });
      },
    },
  );

  const r = createRedis(workerRedisUrl());
  for (const p of ['pd:', '{perpdesk}']) await deletePrefix(r, p);
  await closeRedis(r);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker-main.ts'], {
    cwd: root,
    env: { ...process.env, REDIS_URL: workerRedisUrl(), PAPER_EXCHANGE_URL: paperServer.url, WORKER_HTTP_PORT: '0', LOG_LEVEL: 'info', DISCORD_TOKEN: '', TELEGRAM_BOT_TOKEN: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  worker.child = child;
  worker.exited = new Promise((res) => child.once('exit', res));
  child.stderr!.on('data', (d: Buffer) => (worker.err += d.toString()));
}, 60_000);

afterAll(async () => {
  worker.child?.kill('SIGTERM');
  await worker.exited;
  await t?.close();
  await paperServer?.close();
  await venue?.close();
  await tg?.close();
  const r = createRedis(workerRedisUrl());
  for (const p of ['pd:', '{perpdesk}']) await deletePrefix(r, p);
  await closeRedis(r);
}, 30_000);

describe('/metrics', () => {
  async function command(fromId: number, text: string, reply: RegExp) {
    const before = tg.messages(GROUP).at(-1)?.messageId ?? 0;
    tg.sendText({ chatId: GROUP, fromId, username: `u${fromId}`, text });
    return tg.waitForMessage(GROUP, (m) => m.messageId > before && reply.test(m.text ?? ''), 10_000);
  }

  it('counts commands, an approval to filled, the alert it delivers and 429s from the venue and Telegram, with no ids in labels', async () => {
    const bot = t.app.http.url;
    const before = (await scrape(bot)).samples;

    // A read command whose first call to the venue meets a 429 (retried after Retry-After).
    throttle.add('GET /perp/funding');
    await command(TRADER, '/funding BTC-PERP', /Funding BTC-PERP/);
    // A usage mistake, whose reply first meets a Telegram 429.
    tg.forceRateLimit(1, { retryAfter: 1 });
    await command(TRADER, '/order BTC-PERP', /Usage: \/order/);
    // An order above the notional cap: refused at preview.
    await command(TRADER, '/order BTC-PERP long 1000000 2', /above the notional cap/);
    // An order the requester may not approve alone (refused at the click), approved by a teammate, placed and
    // filled; the fill is announced to the alert chat.
    const preview = await command(TRADER, '/order BTC-PERP long 1000 2', /Order preview/);
    const approve = preview.inlineKeyboard.flat().find((b) => b.text === 'Approve')!.callback_data!;
    const own = tg.clickButton({ chatId: GROUP, fromId: TRADER, messageId: preview.messageId, data: approve });
    expect((await tg.waitForCallbackAnswer(own)).text).toContain('someone else must approve');
    const q = tg.clickButton({ chatId: GROUP, fromId: APPROVER, username: 'approver', messageId: preview.messageId, data: approve });
    expect((await tg.waitForCallbackAnswer(q)).text).toContain('Approved');
    await tg.waitForMessage(GROUP, (m) => m.messageId === preview.messageId && /Filled at/.test(m.text ?? ''), 10_000);

    const after = await until('the fill announcement delivered', async () => {
      const s = (await scrape(bot)).samples;
      return value(s, 'perpdesk_alerts_delivered_total', { platform: 'telegram' }) > value(before, 'perpdesk_alerts_delivered_total', { platform: 'telegram' }) && s;
    });
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);

    expect(delta('perpdesk_commands_total', { command: 'funding', transport: 'telegram', outcome: 'ok' })).toBe(1);
    // The usage mistake and the capped size are the trader's to fix; the preview is answered.
    expect(delta('perpdesk_commands_total', { command: 'order', transport: 'telegram', outcome: 'user_error' })).toBe(2);
    expect(delta('perpdesk_commands_total', { command: 'order', transport: 'telegram', outcome: 'ok' })).toBe(1);
    expect(delta('perpdesk_command_duration_seconds_count', { command: 'order', transport: 'telegram' })).toBe(3);
    expect(delta('perpdesk_command_duration_seconds_bucket', { command: 'funding', transport: 'telegram', le: '+Inf' })).toBe(1);
    expect(delta('perpdesk_button_clicks_total', { action: 'ap', transport: 'telegram', outcome: 'ok' })).toBe(2);

    for (const state of ['pending', 'approved', 'submitted', 'filled']) {
      expect(delta('perpdesk_approval_transitions_total', { state }), state).toBe(1);
    }
    expect(delta('perpdesk_approval_transitions_total', { state: 'failed' })).toBe(0);
    expect(delta('perpdesk_orders_placed_total', { kind: 'open' })).toBe(1);
    expect(delta('perpdesk_orders_refused_total', { stage: 'preview', reason: 'notional_above_cap' })).toBe(1);
    expect(delta('perpdesk_orders_refused_total', { stage: 'approval', reason: 'self_approval' })).toBe(1);

    expect(delta('perpdesk_alerts_published_total', {})).toBeGreaterThanOrEqual(1);
    expect(delta('perpdesk_alerts_delivered_total', { platform: 'telegram' })).toBeGreaterThanOrEqual(1);

    expect(delta('perpdesk_rate_limited_total', { platform: 'exchange', venue: 'purpleflea' })).toBe(1);
    expect(delta('perpdesk_rate_limited_total', { platform: 'telegram' })).toBe(1);
    expect(delta('perpdesk_exchange_request_errors_total', { venue: 'purpleflea', route: 'GET /perp/funding', kind: 'rate_limited' })).toBe(1);
    expect(delta('perpdesk_exchange_request_duration_seconds_count', { venue: 'purpleflea', route: 'POST /perp/orders' })).toBe(1);

    expect(delta('perpdesk_job_runs_total', { queue: 'orders', job: 'place-order', outcome: 'completed' })).toBe(1);
    expect(delta('perpdesk_job_duration_seconds_count', { queue: 'orders', job: 'place-order' })).toBe(1);
    // BullMQ's export of the shared queues, and the oldest waiting job's age.
    expect(after.some((s) => s.name === 'bullmq_job_count' && s.labels.queue === 'orders' && s.labels.state === 'completed' && s.value >= 1)).toBe(true);
    expect(value(after, 'bullmq_job_completed_total', { queue: 'orders' })).toBeGreaterThanOrEqual(1);
    expect(after.filter((s) => s.name === 'perpdesk_queue_oldest_waiting_seconds').map((s) => s.labels.queue).sort()).toEqual(['market', 'notify', 'orders']);

    // Label values come from fixed sets: no user, chat or approval id, no name typed by a person.
    const values = after.flatMap((s) => Object.values(s.labels));
    expect(values.filter((v) => /\d{6,}/.test(v))).toEqual([]);
    expect(values.filter((v) => v.includes('u5550') || v.includes('approver') || v.includes('BTC'))).toEqual([]);
  }, 60_000);

  it('names each metric family once (one HELP and one TYPE line), the queues of every replica merged', async () => {
    const { text } = await scrape(t.app.http.url);
    for (const kind of ['HELP', 'TYPE']) {
      const names = text.split('\n').filter((l) => l.startsWith(`# ${kind} `)).map((l) => l.split(' ')[2]);
      expect(names.filter((n, i) => names.indexOf(n) !== i), kind).toEqual([]);
    }
    expect(text).toMatch(/^bullmq_job_count\{queue="notify", state="waiting"\} \d+$/m);
  });

  it('serves every metric of ops/grafana-dashboard.json from the bot or the worker', async () => {
    worker.url = await until('the worker listening', () => /"url":"(http:[^"]+)"/.exec(worker.err)?.[1]);
    await until('the worker ready', () => /perpdesk worker ready/.test(worker.err));
    const dashboard = JSON.parse(readFileSync(new URL('../../ops/grafana-dashboard.json', import.meta.url), 'utf8')) as unknown;
    const wanted = dashboardMetricNames(dashboard);
    expect(wanted.length).toBeGreaterThan(15);

    const [bot, work] = await Promise.all([scrape(t.app.http.url), scrape(worker.url)]);
    // The worker runs its market jobs and exports the queues it shares.
    await until('a market job run on the worker', async () => (await scrape(worker.url!)).samples.some((s) => s.name === 'perpdesk_job_runs_total' && s.labels.queue === 'market'));
    expect(work.samples.some((s) => s.name === 'bullmq_job_count' && s.labels.queue === 'market')).toBe(true);

    const served = new Set([...bot.samples, ...work.samples].map((s) => s.name));
    const declared = new Set([...declaredNames(bot.text), ...declaredNames(work.text)]);
    const missing = wanted.filter((name) => !served.has(name) && !declared.has(name));
    expect(missing).toEqual([]);
  }, 60_000);
});
