import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelegramStandIn, TELEGRAM_LIMITS, type RateLimits, type TelegramStandIn } from '../fakes/telegram/index.js';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../../src/log.js';
import { PLATFORM_LIMITS } from '../../src/services/alerts/pacing.js';
import type { AlertInput } from '../../src/services/alerts/types.js';
import { redisUrl, removeAppData, testPrefix } from '../support/redis.js';

/**
 * Telegram lets a group have 20 messages a minute, so 40 alerts per group would take over a minute. Group windows
 * run GROUP_SPEED times faster on both sides (the stand-in and PerpDesk's pacer); the private-chat and bot-wide
 * limits stay Telegram's own.
 */
const GROUP_SPEED = 8;

function standInLimits(): RateLimits {
  const g = TELEGRAM_LIMITS.groupChat;
  return { ...TELEGRAM_LIMITS, groupChat: { max: g.max, windowMs: g.windowMs / GROUP_SPEED } };
}

function pacing(): typeof PLATFORM_LIMITS {
  const out = structuredClone(PLATFORM_LIMITS);
  out.telegramGroup.chat.windowMs /= GROUP_SPEED;
  return out;
}

function alert(key: string, extra: Partial<AlertInput> = {}): AlertInput {
  return { key, kind: 'liquidation_risk', severity: 'warning', symbol: 'BTC-PERP', title: `Liquidation risk ${key}`, text: 'BTC-PERP long: liquidation buffer 14.2%', ...extra };
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('alerts through Telegram (whole app: notify queue, pacing, real telegraf)', () => {
  let tg: TelegramStandIn;
  let app: App;
  let prefix: string;

  beforeAll(async () => {
    tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot', limits: standInLimits() });
    prefix = testPrefix();
    const paper = await PaperExchange.open({ redis: redisUrl(), keyPrefix: prefix, volatilityScale: 0, seed: 7 });
    app = await startApp({
      config: loadConfig({
        TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.apiRoot, HTTP_PORT: '0',
        // Teammates who subscribe their private chats, and the team's groups.
        PERPDESK_VIEWERS: 'telegram:6001,telegram:6002,telegram:6003,telegram:6201',
        PERPDESK_CHATS: 'telegram:-6101,telegram:-6102,telegram:-6103,telegram:-6104,telegram:-1006105',
      }),
      log: silentLogger,
      redisUrl: redisUrl(),
      exchange: paper,
      prefix,
      httpPort: 0,
      background: { schedule: false, limits: pacing() },
    });
  });

  afterAll(async () => {
    await app?.close();
    await tg?.close();
    await removeAppData(prefix);
  });

  const notifyIdle = async () => {
    const c = await app.ctx.alerts.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) === 0;
  };

  async function command(chatId: number, text: string, expectText: string, fromId?: number) {
    const before = tg.messages(chatId).at(-1)?.messageId ?? 0;
    tg.sendText({ chatId, text, ...(fromId === undefined ? {} : { fromId }) });
    return tg.waitForMessage(chatId, (m) => m.messageId > before && (m.text ?? '').includes(expectText));
  }

  const alertTexts = (chatId: number, re: RegExp) => tg.messages(chatId).filter((m) => re.test(m.text ?? ''));

  it('delivers the next alert after /subscribe and none after /unsubscribe', async () => {
    await command(6001, '/subscribe', 'Subscribed to alerts');
    await command(6002, '/subscribe', 'Subscribed to alerts');

    await app.ctx.alerts.publish(alert('sub-1'));
    const got = await tg.waitForMessage(6001, (m) => /Liquidation risk sub-1/.test(m.text ?? ''), 10_000);
    expect(got.parseMode).toBe('HTML');
    expect(got.text).toContain('liquidation buffer 14.2%');

    await command(6001, '/unsubscribe', 'subscribed');
    await app.ctx.alerts.publish(alert('sub-2'));
    await tg.waitForMessage(6002, (m) => /Liquidation risk sub-2/.test(m.text ?? ''), 10_000);
    await until(notifyIdle, 10_000, 'notify queue drained');

    expect(alertTexts(6001, /Liquidation risk sub-1/)).toHaveLength(1);
    expect(alertTexts(6001, /Liquidation risk sub-2/)).toHaveLength(0);
  });

  it('puts an Acknowledge button on critical alerts; a click records who took it and edits the message', async () => {
    await command(6003, '/subscribe', 'Subscribed to alerts');
    await app.ctx.alerts.publish(alert('crit-1', { severity: 'critical', title: 'Cascade BTC-PERP', kind: 'cascade', incident: 'cascade-btc-t1' }));
    const msg = await tg.waitForMessage(6003, (m) => /Cascade BTC-PERP/.test(m.text ?? '') && m.inlineKeyboard.length > 0, 10_000);
    const ack = msg.inlineKeyboard.flat().find((b) => b.text === 'Acknowledge')!;

    const q = tg.clickButton({ chatId: 6003, messageId: msg.messageId, data: ack.callback_data!, username: 'oncall' });

    expect((await tg.waitForCallbackAnswer(q)).text).toContain('Acknowledged');
    const edited = await tg.waitForMessage(6003, (m) => m.messageId === msg.messageId && m.editCount > 0);
    expect(edited.text).toContain('Acknowledged by @oncall');
    expect(edited.inlineKeyboard).toEqual([]);
  });

  it('delivers 200 alert messages to 5 group chats (40 alerts each) with no flood-limit violation', async () => {
    const chats = [-6101, -6102, -6103, -6104, -1006105];
    for (const c of chats) await command(c, '/subscribe', 'Subscribed to alerts', c < 0 ? 77 : undefined);
    // Chats subscribed earlier in this file would receive the burst too.
    await command(6002, '/unsubscribe', 'subscribed');
    await command(6003, '/unsubscribe', 'subscribed');
    const count = 40;

    for (let i = 0; i < count; i++) await app.ctx.alerts.publish(alert(`burst-${i}`, { title: `Burst ${i}` }));

    await until(() => chats.every((c) => alertTexts(c, /Burst \d+/).length >= count), 25_000, 'every chat got every alert')
    await until(notifyIdle, 5_000, 'notify queue drained');
    for (const c of chats) {
      const seen = alertTexts(c, /Burst \d+/).map((m) => Number(/Burst (\d+)/.exec(m.text ?? '')![1]));
      expect(new Set(seen).size).toBe(count);
      expect(seen).toHaveLength(count);
    }
    expect(tg.violations()).toEqual([]);
  }, 30_000);

  it('unsubscribes a chat that blocked the bot and stops sending to it', async () => {
    await command(6201, '/subscribe', 'Subscribed to alerts');
    tg.blockChat(6201);
    const sendsTo = () => tg.calls('sendMessage').filter((c) => String(c.params.chat_id) === '6201').length;

    await app.ctx.alerts.publish(alert('blocked-1'));
    await until(async () => (await app.ctx.subscriptions.get({ platform: 'telegram', chatId: '6201' })) === null, 10_000, 'unsubscribed');
    await until(notifyIdle, 10_000, 'notify queue drained');
    const afterBlock = sendsTo();

    await app.ctx.alerts.publish(alert('blocked-2'));
    await until(notifyIdle, 10_000, 'notify queue drained');
    expect(sendsTo()).toBe(afterBlock);
  });
});
