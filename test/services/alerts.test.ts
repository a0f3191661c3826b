import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { TelegramTransport } from '../../src/transports/telegram.js';
import { silentLogger } from '../../src/log.js';
import type { Desk } from '../../src/transports/desk.js';
import { commands } from '../../commands/registry.js';
import { Pacer } from '../../src/services/alerts/pacing.js';
import type { AlertInput } from '../../src/services/alerts/types.js';
import { drained, eventually, jobsHarness, sleep, telegramInvocation, type JobsHarness } from '../jobs/support/harness.js';
import { testRedis, testPrefix, deletePrefix, closeTestRedis } from '../support/redis.js';

const TEAM_CHAT = '-1001234567890';
const SUBSCRIBER = '555';

/** Transports only send here; nothing reaches the desk. */
const idleDesk: Desk = {
  commands,
  command: async () => ({}),
  button: async () => ({}),
  suggestSymbols: async () => [],
  messageSent: async () => {},
};

function alert(key: string, extra: Partial<AlertInput> = {}): AlertInput {
  return { key, kind: 'cascade', severity: 'warning', symbol: 'BTC-PERP', title: `Alert ${key}`, text: 'body', ...extra };
}

describe('alert pipeline to Telegram (wire stand-in, real telegraf client)', () => {
  let tg: TelegramStandIn;
  let h: JobsHarness;

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    const telegram = new TelegramTransport({ desk: idleDesk, token: tg.token, apiRoot: tg.apiRoot, log: silentLogger });
    h = await jobsHarness({ env: { TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_ALERT_CHAT_ID: TEAM_CHAT }, extraNotifiers: [telegram] });
  });
  afterAll(async () => {
    await h?.close();
    await tg?.close();
  });
  afterEach(async () => drained(h, 15_000));

  it('when the platform answers 429, should delay the alert by retry_after and deliver it once, not drop it', async () => {
    tg.forceRateLimit(2, { retryAfter: 1 });
    const before = tg.messages(Number(TEAM_CHAT)).length;
    expect((await h.ctx.alerts.publish(alert('rl-1'))).published).toBe(true);
    const msg = await tg.waitForMessage(Number(TEAM_CHAT), (m) => /Alert rl-1/.test(m.text ?? ''), 10_000);
    expect(msg.text).toContain('body');
    await drained(h);
    expect(tg.rateLimited().filter((r) => r.reason === 'forced')).toHaveLength(2);
    expect(tg.messages(Number(TEAM_CHAT))).toHaveLength(before + 1);
    expect(h.notifier.titles(/Alert rl-1/)).toHaveLength(1); // the console got its copy without waiting
  });

  it('should de-duplicate the same key within its cooldown and publish it again after', async () => {
    expect((await h.ctx.alerts.publish(alert('dup', { cooldownMs: 300 }))).published).toBe(true);
    expect(await h.ctx.alerts.publish(alert('dup', { cooldownMs: 300 }))).toEqual({ published: false, reason: 'duplicate' });
    await sleep(350);
    expect((await h.ctx.alerts.publish(alert('dup', { cooldownMs: 300 }))).published).toBe(true);
    await drained(h);
    expect(h.notifier.titles(/^Alert dup$/)).toHaveLength(2);
  });

  it('should edit the first message of an incident for a follow-up instead of posting again', async () => {
    await h.ctx.alerts.publish(alert('inc-1', { incident: 'inc', title: 'Incident: cascade' }));
    await drained(h);
    await h.ctx.alerts.publish(alert('inc-2', { incident: 'inc', title: 'Incident: severe', severity: 'critical' }));
    await drained(h);
    const mine = tg.messages(Number(TEAM_CHAT)).filter((m) => /Incident/.test(m.text ?? ''));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.editCount).toBe(1);
    expect(mine[0]!.text).toContain('Incident: severe');
    expect(mine[0]!.inlineKeyboard.flat().map((b) => b.text)).toEqual(['Acknowledge']);
  });

  it('should keep basis and OI signals off unless a chat switches them on with /subscribe', async () => {
    await h.ctx.alerts.publish(alert('sig-1', { kind: 'basis', severity: 'info', title: 'Basis signal one' }));
    await drained(h);
    expect(h.notifier.titles(/Basis signal/)).toHaveLength(0);
    expect(tg.messages(Number(TEAM_CHAT)).filter((m) => /Basis signal/.test(m.text ?? ''))).toHaveLength(0);

    const r = await h.run('subscribe', { signals: 'basis' }, telegramInvocation('42', SUBSCRIBER));
    expect(r.title).toBe('Subscribed to alerts');
    await h.ctx.alerts.publish(alert('sig-2', { kind: 'basis', severity: 'info', title: 'Basis signal two' }));
    await h.ctx.alerts.publish(alert('sig-3', { kind: 'oi', severity: 'info', title: 'OI signal three' }));
    await drained(h);
    const sub = tg.messages(Number(SUBSCRIBER));
    expect(sub.filter((m) => /Basis signal two/.test(m.text ?? ''))).toHaveLength(1);
    expect(sub.filter((m) => /OI signal three/.test(m.text ?? ''))).toHaveLength(0);
    expect(tg.messages(Number(TEAM_CHAT)).filter((m) => /signal/.test(m.text ?? ''))).toHaveLength(0);
  });

  it('when a subscriber blocked the bot (403), should unsubscribe it and not retry', async () => {
    const blocked = '556';
    await h.run('subscribe', {}, telegramInvocation('42', blocked));
    tg.blockChat(Number(blocked));
    await h.ctx.alerts.publish(alert('blocked-1'));
    await eventually(async () => (await h.ctx.subscriptions.get({ platform: 'telegram', chatId: blocked })) === null, 10_000, 'unsubscribed');
    await drained(h);
    const failed = await h.bg.services.alerts.queue.getFailed();
    expect(failed.filter((j) => /556/.test(String(j.id)))).toHaveLength(1);
    expect(failed.find((j) => /556/.test(String(j.id)))!.attemptsMade).toBe(1);
    await h.ctx.alerts.publish(alert('blocked-2'));
    await drained(h);
    expect((await h.bg.services.alerts.queue.getFailed()).filter((j) => /556/.test(String(j.id)))).toHaveLength(1);
  });

  it('should pace a burst to one private chat at the platform limit without a 429', async () => {
    const chat = '557';
    await h.run('subscribe', {}, telegramInvocation('42', chat));
    for (let i = 0; i < 3; i++) await h.ctx.alerts.publish(alert(`burst-${i}`, { title: `Burst ${i}` }));
    await drained(h, 15_000);
    const got = tg.messages(Number(chat));
    expect(got.map((m) => /Burst (\d)/.exec(m.text ?? '')?.[1])).toEqual(['0', '1', '2']);
    expect(tg.violations()).toEqual([]);
  });
});

describe('pacer', () => {
  it('should hand out per-chat slots a window apart and keep the platform grid under its rate', async () => {
    const redis = testRedis();
    const prefix = testPrefix();
    try {
      const pacer = new Pacer(redis, prefix);
      const t0 = 1_000_000;
      const chat = { platform: 'telegram' as const, chatId: '1' };
      const slots = [await pacer.reserve(chat, t0), await pacer.reserve(chat, t0), await pacer.reserve(chat, t0)];
      expect(slots[1]! - slots[0]!).toBeGreaterThanOrEqual(1_000);
      expect(slots[2]! - slots[1]!).toBeGreaterThanOrEqual(1_000);
      const many = await Promise.all(Array.from({ length: 60 }, (_, i) => pacer.reserve({ platform: 'telegram', chatId: String(100 + i) }, t0)));
      many.sort((a, b) => a - b);
      // In any 1 s window at most 30 sends across chats.
      for (let i = 0; i + 30 < many.length; i++) expect(many[i + 30]! - many[i]!).toBeGreaterThanOrEqual(1_000);
      const group = { platform: 'telegram' as const, chatId: '-100999' };
      const g = [];
      for (let i = 0; i < 21; i++) g.push(await pacer.reserve(group, t0));
      expect(g[20]! - g[0]!).toBeGreaterThanOrEqual(60_000);
      expect(g[19]! - g[0]!).toBeLessThan(5_000); // a group may take a burst of 20
    } finally {
      await deletePrefix(redis, prefix);
      await closeTestRedis();
    }
  });
});
