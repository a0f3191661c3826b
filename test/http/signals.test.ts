/**
 * `POST /signals` over real HTTP with the whole bot running: telegraf and discord.js against the stand-ins, the
 * paper exchange, real Redis and BullMQ. A signal becomes a preview in the alert chats; an Approve click there places
 * exactly one order. Every bad request gets a clear answer and changes nothing.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordStandIn, type DiscordStandIn } from '../fakes/discord/index.js';
import { startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../../src/log.js';
import { redisUrl, removeAppData, testPrefix } from '../support/redis.js';
import { telegramEnv } from '../support/telegram.js';
import { eventually } from '../jobs/support/harness.js';

const SECRET = 'test-signal-secret-0123456789';
const GUILD = '1100000000000000031';
const ALERT_CHANNEL = '1100000000000000032';
const ALERT_CHAT = -1_000_000_000_501;
const APPROVER_TG = 5101;
const APPROVER_DISCORD = '5100000000000000001';

const sign = (body: string, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('POST /signals (whole app, real HTTP, real chat clients)', () => {
  let tg: TelegramStandIn;
  let discord: DiscordStandIn;
  let paper: PaperExchange;
  let app: App;
  let prefix: string;

  beforeAll(async () => {
    tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot' });
    discord = await startDiscordStandIn({ guilds: [{ id: GUILD, channels: [{ id: ALERT_CHANNEL }] }] });
    prefix = testPrefix();
    paper = await PaperExchange.open({ redis: redisUrl(), keyPrefix: prefix, volatilityScale: 0, seed: 7 });
    app = await startApp({
      config: loadConfig({
        ...telegramEnv(tg), TELEGRAM_ALERT_CHAT_ID: String(ALERT_CHAT),
        DISCORD_TOKEN: discord.token, DISCORD_APPLICATION_ID: discord.applicationId, DISCORD_API_URL: discord.url,
        DISCORD_GUILD_ID: GUILD, DISCORD_ALERT_CHANNEL_ID: ALERT_CHANNEL,
        PERPDESK_APPROVERS: `telegram:${APPROVER_TG},discord:${APPROVER_DISCORD}`,
        SIGNAL_SECRET: SECRET,
      }),
      log: silentLogger, redisUrl: redisUrl(), exchange: paper, prefix, httpPort: 0,
      background: { schedule: false },
      signalLimits: { perSource: { points: 5, seconds: 60 }, failures: { points: 3, seconds: 60 } },
    });
  });

  afterAll(async () => {
    await app?.close();
    await tg?.close();
    await discord?.close();
    await removeAppData(prefix);
  });

  const post = (body: string, opts: { query?: string; headers?: Record<string, string> } = {}) =>
    fetch(`${app.http.url}/signals${opts.query ?? ''}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...opts.headers } });

  const signed = (payload: unknown, query = '?source=tv') => {
    const body = JSON.stringify(payload);
    return post(body, { query, headers: { 'x-perpdesk-signature': sign(body) } });
  };

  /**
   * Everything a signal could change: approvals, published alerts (each publish takes a sequence number and a
   * de-duplication key), the OI samples a preview records, and the venue. Not the audit stream or rate counters,
   * and not the chat pacing of deliveries still running from earlier tests.
   */
  async function snapshot(opts: { samples?: boolean } = {}): Promise<string> {
    const patterns = ['approval:*', 'approvals:*', 'alerts:seq', 'alerts:dedup:*', 'alerts:incident:*', ...(opts.samples === false ? [] : ['samples:*'])];
    const keys = (await Promise.all(patterns.map((p) => app.redis.keys(`${prefix}:${p}`)))).flat().sort();
    const values = await Promise.all(keys.map(async (k) => [k, (await app.redis.dumpBuffer(k))?.toString('base64')]));
    const orders = await paper.listOrders();
    const positions = await paper.positions();
    return JSON.stringify({ values, orders, positions });
  }

  it('posts the preview with Approve / Reject to the alert chats; an Approve click places exactly one order', async () => {
    const res = await signed({ symbol: 'btc', side: 'buy', size_usd: 1000, leverage: 3, id: 'tv-1', comment: 'EMA cross' });
    expect(res.status).toBe(202);
    const body = await res.json() as { approval_id: string; status: string; replayed: boolean };
    expect(body).toMatchObject({ status: 'pending', replayed: false });
    const id = body.approval_id;

    const tgPreview = await tg.waitForMessage(ALERT_CHAT, (m) => (m.text ?? '').includes('Signal: Order preview') && m.inlineKeyboard.length > 0, 15_000);
    expect(tgPreview.text).toMatch(/source tv · id tv-1 · comment “EMA cross”/);
    expect(tgPreview.text).toMatch(/LONG [\d.]+ BTC-PERP/);
    const dcPreview = await eventually(() => discord.channelMessages(ALERT_CHANNEL).find((m) => JSON.stringify(m.embeds).includes('Signal: Order preview')), 15_000, 'the Discord preview');
    expect(JSON.stringify(dcPreview.components)).toContain(`pd1:ap:${id}:`);
    expect(await paper.listOrders()).toEqual([]); // never an order by itself

    // The same signal again: the first approval, no second preview.
    const again = await signed({ symbol: 'btc', side: 'buy', size_usd: 1000, leverage: 3, id: 'tv-1' });
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ approval_id: id, replayed: true });

    const approve = tgPreview.inlineKeyboard.flat().find((b) => b.text === 'Approve')!;
    const q1 = tg.clickButton({ chatId: ALERT_CHAT, fromId: APPROVER_TG, messageId: tgPreview.messageId, data: approve.callback_data! });
    const q2 = tg.clickButton({ chatId: ALERT_CHAT, fromId: APPROVER_TG, messageId: tgPreview.messageId, data: approve.callback_data! });
    const notes = [await tg.waitForCallbackAnswer(q1), await tg.waitForCallbackAnswer(q2)].map((a) => a.text ?? '');
    expect(notes.filter((n) => n === 'Approved: placing the order.')).toHaveLength(1);
    await eventually(async () => (await app.ctx.approvals.get(id))?.status === 'filled', 15_000, 'the order filled');
    const orders = await paper.listOrders();
    expect(orders).toHaveLength(1);
    expect(orders[0]!.clientOrderId).toBe(`pd-${id}`);
    // Both copies end showing the fill, without buttons.
    await eventually(() => tg.messages(ALERT_CHAT).find((m) => m.messageId === tgPreview.messageId && /Filled at/.test(m.text ?? '') && m.inlineKeyboard.length === 0), 15_000, 'the Telegram preview edited');
    await eventually(() => /Filled at/.test(JSON.stringify(discord.message(dcPreview.id)?.embeds)), 15_000, 'the Discord preview edited');

    const replay = await signed({ symbol: 'btc', side: 'buy', size_usd: 1000, leverage: 3, id: 'tv-1' });
    expect(await replay.json()).toMatchObject({ approval_id: id, status: 'filled', replayed: true });
    expect(await paper.listOrders()).toHaveLength(1);
    const audit = await app.ctx.audit.latest(40);
    expect(audit.filter((e) => e.action === 'signal.accepted')).toHaveLength(1);
    expect(audit.filter((e) => e.action === 'signal.replayed').length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(audit)).not.toContain(SECRET);
    expect(JSON.stringify(audit)).not.toContain(sign(JSON.stringify({ symbol: 'btc', side: 'buy', size_usd: 1000, leverage: 3, id: 'tv-1' })).slice(7));
  });

  it('accepts ?token= for senders that cannot sign, and creates one approval when the same id races itself', async () => {
    const body = JSON.stringify({ symbol: 'ETH-PERP', side: 'short', size_usd: '500', leverage: '2', id: 'race-1' });
    const answers = await Promise.all([0, 1, 2].map(() => post(body, { query: `?source=tv2&token=${SECRET}` })));
    const ids = await Promise.all(answers.map(async (r) => { expect(r.status).toBe(202); return ((await r.json()) as { approval_id: string }).approval_id; }));
    expect(new Set(ids).size).toBe(1);
    expect((await app.ctx.approvals.openIds()).filter((x) => x === ids[0])).toHaveLength(1);
    await tg.waitForMessage(ALERT_CHAT, (m) => (m.text ?? '').includes('SHORT') && (m.text ?? '').includes('race-1'), 15_000);
  });

  it.each([
    ['a missing field', { symbol: 'BTC-PERP', side: 'long', leverage: 2 }, 400, /size_usd is missing/],
    ['NaN as a size', { symbol: 'BTC-PERP', side: 'long', size_usd: 'NaN', leverage: 2 }, 400, /size_usd must be a number/],
    ['an infinite size', '{"symbol":"BTC-PERP","side":"long","size_usd":1e999,"leverage":2}', 400, /size_usd must be a finite number/],
    ['a huge size', { symbol: 'BTC-PERP', side: 'long', size_usd: 1e12, leverage: 2 }, 400, /above the notional cap of \$10,000\.00/],
    ['a leverage above the cap', { symbol: 'BTC-PERP', side: 'long', size_usd: 100, leverage: 50 }, 400, /above the desk's cap of 5x/],
    ['a bad side', { symbol: 'BTC-PERP', side: 'up', size_usd: 100, leverage: 2 }, 400, /side must be long, short, buy or sell/],
    ['an unknown symbol', { symbol: 'BTX-PERP', side: 'long', size_usd: 100, leverage: 2 }, 400, /Unknown symbol BTX-PERP/],
    ['a body that is not JSON', 'size=1000', 400, /not JSON/],
    ['a JSON array', '[1,2]', 400, /JSON object/],
  ])('answers %s with a clear reason and changes nothing', async (what, payload, status, why) => {
    const before = await snapshot();
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    // One source per case: each stays within its own rate limit.
    const res = await post(body, { query: `?source=${what.replace(/\W+/g, '-')}`, headers: { 'x-perpdesk-signature': sign(body) } });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: string }).error).toMatch(why);
    expect(await snapshot()).toBe(before);
  });

  it('answers a wrong signature, a wrong token and none with 401, then 429 with Retry-After for a flood, changing nothing', async () => {
    const before = await snapshot();
    const body = JSON.stringify({ symbol: 'BTC-PERP', side: 'long', size_usd: 100, leverage: 2 });
    const wrong = await post(body, { query: '?source=tv', headers: { 'x-perpdesk-signature': sign(body, 'another-secret-0123456789') } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: expect.stringMatching(/^bad signature/) });
    const tampered = await post(body.replace('100', '9000'), { query: '?source=tv', headers: { 'x-perpdesk-signature': sign(body) } });
    expect(tampered.status).toBe(401);
    expect((await post(body, { query: '?source=tv&token=not-the-secret' })).status).toBe(401);
    const flood = await post(body, { query: '?source=tv' });
    expect(flood.status).toBe(429);
    expect(Number(flood.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await snapshot()).toBe(before);
    // The failures were counted against the sender's address, not the source it named: the real tv still gets in.
    expect((await signed({ symbol: 'BTC-PERP', side: 'long', size_usd: 100, leverage: 2, id: 'after-flood' }, '?source=tv-flood-check')).status).toBe(202);
    const audit = await app.ctx.audit.latest(10);
    expect(audit.filter((e) => e.action === 'signal.unauthorized')).toHaveLength(4);
    expect(JSON.stringify(audit)).not.toMatch(/not-the-secret|sha256=/);
  });

  it('answers a body over 64 KB with 413 and changes nothing', async () => {
    const before = await snapshot();
    const big = JSON.stringify({ symbol: 'BTC-PERP', side: 'long', size_usd: 100, leverage: 2, comment: 'x'.repeat(70 * 1024) });
    const res = await post(big, { query: `?source=big&token=${SECRET}` });
    expect(res.status).toBe(413);
    // Streamed without a length: read up to the limit, then refused the same way.
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 6) c.enqueue(chunk);
        else c.close();
      },
    });
    const streamed = await fetch(`${app.http.url}/signals?source=big&token=${SECRET}`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toEqual({ error: 'the body is larger than 64 KB' });
    expect(await snapshot()).toBe(before);
  });

  it('limits each source to its requests per window with 429 and Retry-After', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 7; i++) {
      const r = await signed({ symbol: 'BTC-PERP', side: 'long', size_usd: 100, leverage: 2, id: 'limited-1' }, '?source=chatty');
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers.get('retry-after');
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });

  it('answers 422 with the reasons when the preview is blocked (trading paused), posts nothing, and takes the id later', async () => {
    await app.ctx.killSwitch.pause('ops', 'maintenance', Date.now());
    try {
      // A blocked preview is a whole preview, which records an OI sample as /order's does; nothing else changes.
      const before = await snapshot({ samples: false });
      const r = await signed({ symbol: 'BTC-PERP', side: 'long', size_usd: 100, leverage: 2, id: 'paused-1' }, '?source=paused');
      expect(r.status).toBe(422);
      expect(await r.json()).toEqual({ error: 'the order cannot be approved as it stands', reasons: [expect.stringMatching(/Trading is paused by ops: maintenance/)] });
      expect(await snapshot({ samples: false })).toBe(before);
    } finally {
      await app.ctx.killSwitch.resume();
    }
    const again = await signed({ symbol: 'BTC-PERP', side: 'long', size_usd: 100, leverage: 2, id: 'paused-1' }, '?source=paused');
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ status: 'pending', replayed: false });
  });

  it('answers other methods with 405', async () => {
    const r = await fetch(`${app.http.url}/signals`);
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('POST');
  });
});

describe('POST /signals without SIGNAL_SECRET', () => {
  it('is 404 and says it is disabled', async () => {
    const prefix = testPrefix();
    const paper = await PaperExchange.open({ redis: redisUrl(), keyPrefix: prefix, volatilityScale: 0, seed: 7 });
    const app = await startApp({ config: loadConfig({}), log: silentLogger, redisUrl: redisUrl(), exchange: paper, prefix, httpPort: 0, background: false });
    try {
      const body = JSON.stringify({ symbol: 'BTC-PERP', side: 'long', size_usd: 100, leverage: 2 });
      const r = await fetch(`${app.http.url}/signals?token=anything`, { method: 'POST', body });
      expect(r.status).toBe(404);
      expect(await r.json()).toEqual({ error: 'POST /signals is disabled: set SIGNAL_SECRET to enable it' });
      expect(await app.ctx.approvals.openIds()).toEqual([]);
    } finally {
      await app.close();
      await removeAppData(prefix);
    }
  });
});
