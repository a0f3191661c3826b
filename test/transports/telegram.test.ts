import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { buildTestDesk, type TestDesk } from '../support/desk.js';
import { TelegramTransport } from '../../src/transports/telegram.js';
import { DeliveryError } from '../../src/services/alerts/notifier.js';
import { silentLogger } from '../../src/log.js';
import { encodeButtonId } from '../../src/chat/button-id.js';
import { Pacer } from '../../src/services/alerts/pacing.js';

const BOT = 'PerpDeskBot';

describe('Telegram transport on the Bot API stand-in (real telegraf, Redis, paper exchange)', () => {
  let t: TestDesk;
  let tg: TelegramStandIn;
  let transport: TelegramTransport;

  beforeAll(async () => {
    // Teammates who write to the bot in private chats, and a team group (strangers: test/transports/access.test.ts).
    t = await buildTestDesk({ env: { PERPDESK_VIEWERS: 'telegram:1001,telegram:1002,telegram:1003,telegram:1004,telegram:1005,telegram:1011', PERPDESK_CHATS: 'telegram:-2002' } });
    tg = await startTelegramStandIn({ botUsername: BOT });
    transport = new TelegramTransport({
      desk: t.desk,
      token: tg.token,
      apiRoot: tg.apiRoot,
      log: silentLogger,
      pacer: new Pacer(t.redis, t.prefix),
    });
    await transport.start();
    await vi.waitFor(() => expect(tg.polling()).toBe(true));
  });

  afterAll(async () => {
    await transport?.close();
    // Command replies share the pacer with alerts: nothing the bot sent broke a flood limit.
    expect(tg?.violations()).toEqual([]);
    await tg?.close();
    await t?.close();
  });

  it('publishes the read-only commands as the default menu (setMyCommands)', () => {
    const menu = tg.commands();
    expect(menu.map((c) => c.command)).toEqual(t.desk.commands.filter((c) => c.role === 'viewer').map((c) => c.name));
    expect(menu.map((c) => c.command)).not.toContain('order');
    expect(menu.find((c) => c.command === 'funding')?.description).toContain('funding');
  });

  it('answers /funding BTC-PERP in HTML with the paper exchange numbers', async () => {
    tg.sendText({ chatId: 1001, text: '/funding BTC-PERP', username: 'alice' });

    const reply = await tg.waitForMessage(1001);
    const f = await t.paper.funding('BTC-PERP');
    const mark = (await t.paper.ticker('BTC-PERP')).markPrice;
    expect(reply.parseMode).toBe('HTML');
    expect(reply.text).toContain('<b>ℹ Funding BTC-PERP</b>');
    expect(reply.text).toContain(`<b>Current rate:</b> ${(f.currentRate * 100).toFixed(4)}% per 8h`);
    expect(reply.text).toContain(`APR`);
    const shownMark = Number(/<b>Mark:<\/b> ([\d,.]+)/.exec(reply.text ?? '')?.[1]?.replace(/,/g, ''));
    expect(shownMark).toBeCloseTo(mark, 0);
    expect(reply.text).toMatch(/<b>Next funding:<\/b> \d{4}-\d{2}-\d{2} \d{2}:00:00 UTC \(in \d{2}:\d{2}:\d{2}\)/);
  });

  it('answers /funding@ThisBot in a group, quoting the command, and ignores commands for another bot', async () => {
    const other = tg.sendText({ chatId: -2001, chatType: 'group', fromId: 1001, text: '/funding@SomeOtherBot ETH' });
    const unknownBare = tg.sendText({ chatId: -2001, chatType: 'group', fromId: 1001, text: '/weather' });
    await tg.waitForConfirmed(unknownBare.updateId);
    await transport.idle();
    expect(tg.messages(-2001)).toEqual([]);
    expect(other.updateId).toBeLessThan(unknownBare.updateId);

    const asked = tg.sendText({ chatId: -2001, chatType: 'group', fromId: 1001, text: `/funding@${BOT} eth` });

    const reply = await tg.waitForMessage(-2001);
    expect(reply.text).toContain('Funding ETH-PERP');
    expect(reply.replyToMessageId).toBe(asked.messageId);
  });

  it('names the closest symbols for an unknown one', async () => {
    tg.sendText({ chatId: 1002, text: '/funding BTX' });

    const reply = await tg.waitForMessage(1002);
    expect(reply.text).toContain('Unknown symbol BTX.');
    expect(reply.text).toContain('BTC-PERP');
  });

  it('shows usage when arguments are missing or too many', async () => {
    tg.sendText({ chatId: 1003, text: '/funding' });
    const missing = await tg.waitForMessage(1003);
    expect(missing.text).toContain('Missing symbol. Usage: /funding &lt;symbol&gt;');

    tg.sendText({ chatId: 1003, text: '/oi BTC-PERP extra' });
    const extra = await tg.waitForMessage(1003, (m) => m.messageId > missing.messageId);
    expect(extra.text).toContain('Too many values for /oi. Usage: /oi &lt;symbol&gt;');
  });

  it('answers /start with the help table in a monospace block and hints at commands for plain text', async () => {
    tg.sendText({ chatId: 1004, text: '/start' });
    const help = await tg.waitForMessage(1004);
    expect(help.text).toMatch(/<pre>Command\s+What it does\n/);
    expect(help.text).toContain('/funding &lt;symbol&gt;');

    tg.sendText({ chatId: 1004, text: 'hello bot' });
    const hint = await tg.waitForMessage(1004, (m) => m.messageId > help.messageId);
    expect(hint.text).toContain('/help');
  });

  it('answers /backtest with the equity curve as a photo, showing "typing" while it runs', async () => {
    tg.sendText({ chatId: 1011, text: '/backtest BTC-PERP 90d' });

    const photo = await tg.waitForMessage(1011, (m) => m.kind === 'photo', 20_000);
    expect(photo.file).toMatchObject({ filename: 'backtest-BTC-90d.png' });
    expect(photo.file?.size).toBeGreaterThan(1000);
    const all = tg.messages(1011);
    const text = [photo.caption, ...all.filter((m) => m.kind === 'text').map((m) => m.text)].join('\n');
    expect(text).toContain('Backtest: BTC funding harvester, 90 d');
    expect(text).toContain('Max drawdown');
    expect(tg.calls('sendChatAction').some((c) => c.params.chat_id === 1011 || c.params.chat_id === '1011')).toBe(true);
  }, 25_000);

  it('answers an outdated or foreign button with an alert and leaves the message alone', async () => {
    const ref = await transport.send('1005', { title: 'Old preview', buttons: [{ id: 'pd0:zz:x:1', label: 'Approve', style: 'success' }] });
    const queryId = tg.clickButton({ chatId: 1005, messageId: Number(ref.messageId), data: 'pd0:zz:x:1' });

    const answer = await tg.waitForCallbackAnswer(queryId);
    expect(answer.text).toContain('This button is outdated');
    expect(answer.showAlert).toBe(true);
    expect(tg.message(1005, Number(ref.messageId))?.editCount).toBe(0);
  });

  it('routes a click to the desk as the clicking Telegram user (role checks see telegram:<id>)', async () => {
    const data = encodeButtonId({ action: 'nosuch', ref: 'r1', exp: 0 });
    const ref = await transport.send('-2002', { title: 'Pick', buttons: [{ id: data, label: 'Go', style: 'primary' }] });
    tg.sendText({ chatId: -2002, chatType: 'group', fromId: 7, text: 'hi' });
    const queryId = tg.clickButton({ chatId: -2002, fromId: 7, messageId: Number(ref.messageId), data });

    const answer = await tg.waitForCallbackAnswer(queryId);
    expect(answer.text).toMatch(/outdated|not from PerpDesk/);
  });

  describe('as the alert notifier', () => {
    it('sends HTML with an inline keyboard and edits in place, dropping the keyboard', async () => {
      const ack = encodeButtonId({ action: 'ack', ref: 'alert1', exp: 0 });
      const ref = await transport.send('-2003', {
        title: 'Cascade BTC-PERP',
        text: 'OI -4.5% in 5 min <fast>',
        severity: 'critical',
        buttons: [{ id: ack, label: 'Acknowledge', style: 'primary' }],
      });
      expect(ref).toMatchObject({ platform: 'telegram', chatId: '-2003' });
      const sent = tg.message(-2003, Number(ref.messageId))!;
      expect(sent.text).toBe('<b>🚨 Cascade BTC-PERP</b>\nOI -4.5% in 5 min &lt;fast&gt;');
      expect(sent.inlineKeyboard).toEqual([[{ text: 'Acknowledge', callback_data: ack }]]);

      await transport.edit(ref, { title: 'Cascade BTC-PERP', text: 'cascade over', severity: 'info' });
      // The same state again is "not modified" at Telegram: not an error.
      await transport.edit(ref, { title: 'Cascade BTC-PERP', text: 'cascade over', severity: 'info' });

      const edited = tg.message(-2003, Number(ref.messageId))!;
      expect(edited.text).toContain('cascade over');
      expect(edited.inlineKeyboard).toEqual([]);
      expect(edited.editCount).toBe(1);
    });

    it('sends an image as a photo with the reply as caption, and edits the caption', async () => {
      const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
      const ref = await transport.send('1006', { title: 'Backtest BTC-PERP', table: { headers: ['k', 'v'], rows: [['trades', '12']] }, image: { filename: 'equity.png', data: png } });
      const photo = tg.message(1006, Number(ref.messageId))!;
      expect(photo.kind).toBe('photo');
      expect(photo.file).toMatchObject({ filename: 'equity.png', size: png.length });
      expect(photo.caption).toContain('<pre>k       v');

      await transport.edit(ref, { title: 'Backtest BTC-PERP (done)' });
      expect(tg.message(1006, Number(ref.messageId))!.caption).toContain('(done)');
    });

    it('keeps an alert with an image and a long text to one message (the queue paces one send per alert)', async () => {
      const rows = Array.from({ length: 150 }, (_, i) => [`row ${i}`, String(i * 1000)]);
      const ref = await transport.send('1007', { title: 'Long', table: { headers: ['a', 'b'], rows }, image: { filename: 'c.png', data: Buffer.from('x') } });
      const msgs = tg.messages(1007);
      expect(msgs.map((m) => m.kind)).toEqual(['photo']);
      expect(ref.messageId).toBe(String(msgs[0]!.messageId));
      expect(msgs[0]!.caption).toMatch(/… \d+ more rows<\/pre>/);
    });

    it('clips a reply longer than 4096 characters without breaking its HTML', async () => {
      const rows = Array.from({ length: 400 }, (_, i) => [`SYMBOL-${i}`, 'x'.repeat(20)]);
      const ref = await transport.send('1008', { title: 'Huge', table: { headers: ['s', 'v'], rows }, footer: 'end' });
      const m = tg.message(1008, Number(ref.messageId))!;
      expect(m.text).toMatch(/… \d+ more rows<\/pre>/);
      expect(m.text).toContain('<i>end</i>');
    });

    it('turns a 429 into a DeliveryError carrying retry_after, without retrying', async () => {
      tg.forceRateLimit(1, { retryAfter: 3 });
      const before = tg.calls('sendMessage').length;

      const err = await transport.send('1009', { text: 'alert' }).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(DeliveryError);
      expect((err as DeliveryError).retryAfterMs).toBe(3000);
      expect((err as DeliveryError).permanent).toBe(false);
      expect(tg.calls('sendMessage').length).toBe(before + 1);
    });

    it('turns a blocked chat into a permanent DeliveryError', async () => {
      tg.sendText({ chatId: 1010, text: 'hi' });
      tg.blockChat(1010);

      const err = await transport.send('1010', { text: 'alert' }).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(DeliveryError);
      expect((err as DeliveryError).permanent).toBe(true);
      expect((err as DeliveryError).message).toContain('blocked');
    });
  });
});
