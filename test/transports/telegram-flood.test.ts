import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaledLimits, startTelegramStandIn, type SentMessage, type TelegramStandIn } from '../fakes/telegram/index.js';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../../src/log.js';
import { Pacer, PLATFORM_LIMITS, scaleLimits } from '../../src/services/alerts/pacing.js';
import { TelegramTransport } from '../../src/transports/telegram.js';
import { buildTestDesk, TEAM_GROUP, type TestDesk } from '../support/desk.js';
import { redisUrl, removeAppData, testPrefix } from '../support/redis.js';

/**
 * Issue 14 item 1: an admin in the team's alert supergroup types /pause and /resume twenty times each, as fast as
 * the answers come, while five private chats are subscribed. Telegram's limits (20/min per group, 1/s per chat,
 * 30/s overall) run SPEED times faster on both sides — every window of the stand-in and of PerpDesk's pacer is
 * divided by SPEED, nothing else changes — so four minutes of group traffic fit in a test.
 */
const SPEED = 20;
const GROUP = -1001234567;
const ADMIN = 4242;
const PRIVATES = [7001, 7002, 7003, 7004, 7005];
const ROUNDS = 20;


async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Announcements are alerts (footer "PerpDesk alert · trading"); replies quote the command. */
const isAnnouncement = (m: SentMessage) => (m.text ?? '').includes('PerpDesk alert · trading');
/** "P3" for the third pause, "R3" for the third resume, in the order the chat shows them. */
function announced(tg: TelegramStandIn, chatId: number): string[] {
  return tg.messages(chatId).filter(isAnnouncement).map((m) => {
    const text = m.text ?? '';
    const pause = /Trading paused by .*?: drill (\d+)\./.exec(text);
    if (pause) return `P${pause[1]}`;
    const resume = /Trading resumed by .*?paused by .*?: drill (\d+)\./.exec(text);
    if (resume) return `R${resume[1]}`;
    return `?${text.slice(0, 60)}`;
  });
}

describe('pause/resume storm in a Telegram alert supergroup (whole app, real telegraf, limits enforced)', () => {
  let tg: TelegramStandIn;
  let app: App;
  let prefix: string;

  beforeAll(async () => {
    tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot', limits: scaledLimits(SPEED), limitEdits: true });
    prefix = testPrefix();
    const paper = await PaperExchange.open({ redis: redisUrl(), keyPrefix: prefix, volatilityScale: 0, seed: 7 });
    app = await startApp({
      config: loadConfig({
        TELEGRAM_BOT_TOKEN: tg.token,
        TELEGRAM_API_ROOT: tg.apiRoot,
        TELEGRAM_ALERT_CHAT_ID: String(GROUP),
        PERPDESK_ADMINS: `telegram:${ADMIN}`,
        // Teammates who subscribe their private chats (the group is the team's alert chat).
        PERPDESK_VIEWERS: PRIVATES.map((c) => `telegram:${c}`).join(','),
        HTTP_PORT: '0',
      }),
      log: silentLogger,
      redisUrl: redisUrl(),
      exchange: paper,
      prefix,
      httpPort: 0,
      background: { schedule: false, limits: scaleLimits(SPEED) },
    });
  });

  afterAll(async () => {
    await app?.close();
    await tg?.close();
    await removeAppData(prefix);
  });

  async function command(chatId: number, text: string, expect: RegExp, fromId?: number): Promise<void> {
    const { messageId } = tg.sendText({ chatId, text, ...(fromId === undefined ? {} : { fromId, username: 'admin' }) });
    // The answer to this command: in a group it quotes it; in a private chat it is the next non-alert message.
    await tg.waitForMessage(
      chatId,
      (m) => (chatId < 0 ? m.replyToMessageId === messageId : !isAnnouncement(m)) && expect.test(m.text ?? ''),
      25_000,
    );
  }

  it('delivers every announcement to the group and the subscribers, in order, with no 429', async () => {
    for (const c of PRIVATES) await command(c, '/subscribe', /Subscribed to alerts/);

    const expected: string[] = [];
    for (let i = 1; i <= ROUNDS; i++) {
      await command(GROUP, `/pause drill ${i}`, /Trading paused by/, ADMIN);
      await command(GROUP, '/resume', /Trading resumed by/, ADMIN);
      expected.push(`P${i}`, `R${i}`);
    }

    await until(() => [GROUP, ...PRIVATES].every((c) => announced(tg, c).length >= expected.length), 20_000, 'every announcement delivered');
    expect(tg.rateLimited()).toEqual([]);
    expect(announced(tg, GROUP)).toEqual(expected);
    for (const c of PRIVATES) expect(announced(tg, c)).toEqual(expected);
  }, 60_000);
});

/**
 * The path that broke the group's window: an answer that had waited 30 s for its turn was sent anyway (and refused
 * with 429). A group that has used its 20 messages must make the 21st answer wait until the window has room, however
 * long that takes. The window is 33 s here (both sides) so the wait outlasts that old 30-second cut-off.
 */
describe('a command answer in a group whose window is full (real telegraf, Redis pacer)', () => {
  const WINDOW_MS = 33_000;
  let t: TestDesk;
  let tg: TelegramStandIn;
  let transport: TelegramTransport;

  beforeAll(async () => {
    t = await buildTestDesk();
    tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot', limits: { groupChat: { max: 20, windowMs: WINDOW_MS } }, limitEdits: true });
    const limits = structuredClone(PLATFORM_LIMITS);
    limits.telegramGroup.chat.windowMs = WINDOW_MS + 250;
    transport = new TelegramTransport({ desk: t.desk, token: tg.token, apiRoot: tg.apiRoot, log: silentLogger, pacer: new Pacer(t.redis, t.prefix, limits) });
    await transport.start();
  });

  afterAll(async () => {
    await transport?.close();
    await tg?.close();
    await t?.close();
  });

  it('waits for the window to have room instead of sending into it', async () => {
    const group = Number(TEAM_GROUP);
    const sent = Array.from({ length: 21 }, () => tg.sendText({ chatId: group, fromId: 55, text: '/help' }).messageId);
    const last = sent.at(-1)!;

    await tg.waitForMessage(group, (m) => m.replyToMessageId === sent[19], 10_000);
    const answer = await tg.waitForMessage(group, (m) => m.replyToMessageId === last, WINDOW_MS + 15_000);

    expect(tg.rateLimited()).toEqual([]);
    const first = tg.messages(group).find((m) => m.replyToMessageId === sent[0])!;
    expect(answer.sentAt - first.sentAt).toBeGreaterThanOrEqual(WINDOW_MS);
  }, WINDOW_MS + 30_000);
});
