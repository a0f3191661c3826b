import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { buildTestDesk, type TestDesk } from '../support/desk.js';
import { TelegramTransport } from '../../src/transports/telegram.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { ConfigError } from '../../src/errors.js';
import type { Desk } from '../../src/transports/desk.js';

const SECRET = 'stand-in-secret-token-abcdef';
const TOKEN = `424242:${SECRET}`;

function capturedLog() {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { log: createLogger('debug', sink), text: () => text };
}

describe('Telegram transport lifecycle', () => {
  let t: TestDesk;
  let tg: TelegramStandIn;

  beforeAll(async () => {
    t = await buildTestDesk({ env: { PERPDESK_VIEWERS: 'telegram:3001,telegram:3002,telegram:3003' } });
    tg = await startTelegramStandIn({ token: TOKEN, botUsername: 'PerpDeskBot' });
  });

  afterAll(async () => {
    await tg?.close();
    await t?.close();
  });

  it('keeps polling through 409 Conflict while an old instance still polls, then takes over', async () => {
    const old = new TelegramTransport({ desk: t.desk, token: TOKEN, apiRoot: tg.apiRoot, log: silentLogger });
    await old.start();
    await vi.waitFor(() => expect(tg.polling()).toBe(true));
    const cap = capturedLog();
    const fresh = new TelegramTransport({ desk: t.desk, token: TOKEN, apiRoot: tg.apiRoot, log: cap.log, conflictRetryMs: 50 });
    await fresh.start();
    await vi.waitFor(() => expect(tg.calls('getUpdates').some((c) => c.status === 409)).toBe(true));

    await old.close();
    tg.sendText({ chatId: 3001, text: '/funding eth' });

    const reply = await tg.waitForMessage(3001);
    expect(reply.text).toContain('Funding ETH-PERP');
    expect(cap.text()).toContain('getUpdates conflict');
    await fresh.close();
    await fresh.close(); // closing twice is harmless
    expect(cap.text()).not.toContain(SECRET);
  });

  it('refuses a token Telegram rejects with a ConfigError that does not show the token', async () => {
    const bad = new TelegramTransport({ desk: t.desk, token: '424242:wrong-secret-value', apiRoot: tg.apiRoot, log: silentLogger });

    const err = await bad.start().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('TELEGRAM_BOT_TOKEN');
    expect((err as Error).message).not.toContain('wrong-secret-value');
    await bad.close();
  });

  it('keeps the token out of errors and logs when Telegram is unreachable', async () => {
    const cap = capturedLog();
    const down = new TelegramTransport({ desk: t.desk, token: TOKEN, apiRoot: 'http://127.0.0.1:9', log: cap.log });

    const err = await down.start().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/Telegram start-up failed/);
    expect((err as Error).message).not.toContain(SECRET);
    await down.close();
    expect(cap.text()).not.toContain(SECRET);
  });

  it('answers other chats while one command is still running (the poller is never blocked)', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // The real desk, with /status held open until the test lets it finish, like a slow exchange round trip.
    const desk: Desk = {
      ...t.desk,
      commands: t.desk.commands,
      command: async (name, args, inv) => {
        if (name === 'status') await held;
        return t.desk.command(name, args, inv);
      },
    };
    const bot = new TelegramTransport({ desk, token: TOKEN, apiRoot: tg.apiRoot, log: silentLogger });
    await bot.start();
    tg.sendText({ chatId: 3002, text: '/status' });
    tg.sendText({ chatId: 3003, text: '/funding btc' });

    const other = await tg.waitForMessage(3003);
    expect(other.text).toContain('Funding BTC-PERP');
    expect(tg.messages(3002)).toEqual([]);

    release();
    const status = await tg.waitForMessage(3002);
    expect(status.text).toContain('PerpDesk status');
    await bot.close();
  });
});
