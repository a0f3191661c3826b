import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Markup, Telegraf, Telegram, TelegramError } from 'telegraf';
import { startTelegramStandIn, type TelegramStandIn } from './telegram/index.js';

/** The error a telegraf call rejected with, so tests can assert on code and description. */
async function telegramError(call: Promise<unknown>): Promise<TelegramError> {
  try {
    await call;
  } catch (e) {
    if (e instanceof TelegramError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('Telegram stand-in driven by a polling Telegraf bot', () => {
  let tg: TelegramStandIn;
  let bot: Telegraf;
  let launched: Promise<void>;
  let launchError: unknown;

  beforeAll(async () => {
    tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot' });
    bot = new Telegraf(tg.token, { telegram: { apiRoot: tg.apiRoot } });
    bot.start((ctx) => ctx.reply('Welcome to <b>PerpDesk</b>', { parse_mode: 'HTML' }));
    bot.command('funding', (ctx) => ctx.reply(`funding for ${ctx.payload}`));
    bot.command('menu', (ctx) =>
      ctx.reply('Approve order 42?', Markup.inlineKeyboard([
        Markup.button.callback('Approve', 'pd1:ap:42'),
        Markup.button.callback('Reject', 'pd1:rj:42'),
      ])),
    );
    bot.action(/^pd1:(ap|rj):(\d+)$/, async (ctx) => {
      await ctx.answerCbQuery('Done');
      await ctx.editMessageText(`${ctx.match[1] === 'ap' ? 'Approved' : 'Rejected'} order ${ctx.match[2]}`);
    });
    // launch() resolves only when polling stops, so it is kept, not awaited.
    launched = bot.launch().catch((e: unknown) => {
      launchError = e;
    });
    await vi.waitFor(() => expect(tg.polling()).toBe(true));
  });

  afterAll(async () => {
    bot.stop('tests done');
    await launched;
    await tg.close();
    expect(launchError).toBeUndefined();
  });

  it('delivers a /start text to the bot and records its HTML reply', async () => {
    const { updateId } = tg.sendText({ chatId: 1001, chatType: 'private', fromId: 1001, text: '/start', username: 'alice' });

    const reply = await tg.waitForMessage(1001, (m) => m.text?.includes('Welcome') === true);

    expect(reply).toMatchObject({ text: 'Welcome to <b>PerpDesk</b>', parseMode: 'HTML', kind: 'text' });
    await tg.waitForConfirmed(updateId);
    expect(tg.pendingUpdates()).toBe(0);
  });

  it('routes /command@ThisBot in a group and ignores commands for another bot', async () => {
    const other = tg.sendText({ chatId: -2001, chatType: 'group', fromId: 1001, text: '/funding@SomeOtherBot ETH' });
    await tg.waitForConfirmed(other.updateId);
    expect(tg.messages(-2001)).toEqual([]);

    tg.sendText({ chatId: -2001, chatType: 'group', fromId: 1001, text: '/funding@PerpDeskBot BTC' });

    const reply = await tg.waitForMessage(-2001);
    expect(reply.text).toBe('funding for BTC');
  });

  it('lands answerCbQuery and editMessageText when a user clicks an inline button', async () => {
    tg.sendText({ chatId: 1002, text: '/menu' });
    const menu = await tg.waitForMessage(1002, (m) => m.inlineKeyboard.length > 0);
    expect(menu.inlineKeyboard[0]?.map((b) => b.callback_data)).toEqual(['pd1:ap:42', 'pd1:rj:42']);

    const queryId = tg.clickButton({ chatId: 1002, fromId: 1002, messageId: menu.messageId, data: 'pd1:ap:42' });

    const answer = await tg.waitForCallbackAnswer(queryId);
    expect(answer).toMatchObject({ callbackQueryId: queryId, text: 'Done', showAlert: false });
    const edited = await tg.waitForMessage(1002, (m) => m.messageId === menu.messageId && m.editCount === 1);
    expect(edited.text).toBe('Approved order 42');
    // Telegram drops the keyboard when an edit carries no reply_markup.
    expect(edited.inlineKeyboard).toEqual([]);
    expect(edited.history.map((v) => v.text)).toEqual(['Approve order 42?']);
  });

  it('refuses a click on a button the message does not have, unless forced', () => {
    const menu = tg.messages(1002)[0];
    expect(menu).toBeDefined();
    expect(() => tg.clickButton({ chatId: 1002, messageId: menu?.messageId ?? 0, data: 'pd1:zz:1' })).toThrow(/no button/);
  });

  it('records setMyCommands and serves them back through getMyCommands', async () => {
    const commands = [
      { command: 'start', description: 'Start the desk' },
      { command: 'funding', description: 'Funding rates' },
    ];
    await bot.telegram.setMyCommands(commands);

    expect(tg.commands()).toEqual(commands);
    expect(await bot.telegram.getMyCommands()).toEqual(commands);
    const invalid = await telegramError(bot.telegram.setMyCommands([{ command: 'Bad-Name', description: 'x' }]));
    expect(invalid.code).toBe(400);
  });

  it('answers a burst to one private chat with 429 and retry_after, counting violations', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, (_, i) => bot.telegram.sendMessage(1003, `tick ${i}`)),
    );

    const refused = results.filter((r) => r.status === 'rejected').map((r) => r.reason as unknown);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const e of refused) {
      expect(e).toBeInstanceOf(TelegramError);
      const err = e as TelegramError;
      expect(err.code).toBe(429);
      expect(err.parameters?.retry_after).toBeGreaterThanOrEqual(1);
      expect(err.description).toBe(`Too Many Requests: retry after ${err.parameters?.retry_after}`);
    }
    expect(tg.violations().filter((v) => v.chatId === 1003 && v.scope === 'chat')).toHaveLength(refused.length);
    expect(tg.messages(1003)).toHaveLength(results.length - refused.length);
  });

  it('answers 403 for a chat that blocked the bot', async () => {
    tg.blockChat(1004);

    const err = await telegramError(bot.telegram.sendMessage(1004, 'hello?'));

    expect(err.code).toBe(403);
    expect(err.description).toBe('Forbidden: bot was blocked by the user');
    expect(tg.messages(1004)).toEqual([]);
  });

  it('rejects callback_data longer than 64 bytes like Telegram', async () => {
    // 22 three-byte characters are 66 bytes but only 22 characters.
    const keyboard = Markup.inlineKeyboard([Markup.button.callback('Go', '€'.repeat(22))]);

    const err = await telegramError(bot.telegram.sendMessage(1005, 'too long', keyboard));

    expect(err.code).toBe(400);
    expect(err.description).toBe('Bad Request: BUTTON_DATA_INVALID');
    expect(tg.messages(1005)).toEqual([]);
  });

  it('refuses an edit to identical content with "message is not modified"', async () => {
    const sent = await bot.telegram.sendMessage(1006, 'same');

    const err = await telegramError(bot.telegram.editMessageText(1006, sent.message_id, undefined, 'same'));

    expect(err.code).toBe(400);
    expect(err.description).toMatch(/^Bad Request: message is not modified/);
  });

  it('refuses HTML Telegram cannot parse', async () => {
    const err = await telegramError(bot.telegram.sendMessage(1007, 'price < 5', { parse_mode: 'HTML' }));

    expect(err.code).toBe(400);
    expect(err.description).toMatch(/^Bad Request: can't parse entities: Unsupported start tag/);
  });

  it('refuses MarkdownV2 with an unescaped reserved character and accepts it escaped', async () => {
    const err = await telegramError(bot.telegram.sendMessage(1009, 'Funding 0.01%', { parse_mode: 'MarkdownV2' }));
    expect(err.description).toBe("Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'");

    const sent = await bot.telegram.sendMessage(1009, '*Funding* 0\\.01%', { parse_mode: 'MarkdownV2' });
    expect(sent.text).toBe('*Funding* 0\\.01%');
  });

  it('names what the bot did send when a wait for a message times out', async () => {
    await expect(tg.waitForMessage(1001, (m) => m.text === 'never sent', 50)).rejects.toThrow(/Welcome to <b>PerpDesk<\/b>/);
  });

  it('parses a multipart sendPhoto upload from a Buffer', async () => {
    const png = Buffer.alloc(2048, 7);

    const sent = await bot.telegram.sendPhoto(1008, { source: png, filename: 'chart.png' }, {
      caption: 'BTC funding',
      ...Markup.inlineKeyboard([Markup.button.callback('Refresh', 'pd1:rf:1')]),
    });

    expect(sent.photo[0]?.file_size).toBe(2048);
    const [stored] = tg.messages(1008);
    expect(stored).toMatchObject({ kind: 'photo', caption: 'BTC funding', file: { field: 'photo', filename: 'chart.png', size: 2048 } });
    expect(stored?.inlineKeyboard[0]?.[0]?.callback_data).toBe('pd1:rf:1');
  });

  it('answers 404 to an unknown method and records it as unhandled', async () => {
    const err = await telegramError(bot.telegram.getChat(1001));

    expect(err.code).toBe(404);
    expect(err.description).toBe('Not Found');
    expect(tg.unhandled().map((u) => u.method)).toContain('getChat');
  });

  it('answers 401 to a wrong token and 409 to a second poller', async () => {
    const intruder = new Telegram('999:wrong', { apiRoot: tg.apiRoot });
    expect((await telegramError(intruder.getMe())).code).toBe(401);

    await vi.waitFor(() => expect(tg.polling()).toBe(true));
    const second = new Telegram(tg.token, { apiRoot: tg.apiRoot });
    const err = await telegramError(second.getUpdates(0, 1, 0, undefined));
    expect(err.code).toBe(409);
  });
});

describe('Telegram stand-in limits on a manual clock', () => {
  let tg: TelegramStandIn;
  let client: Telegram;
  let now = 1_700_000_000_000;

  beforeAll(async () => {
    tg = await startTelegramStandIn({ now: () => now });
    client = new Telegram(tg.token, { apiRoot: tg.apiRoot });
  });

  afterAll(async () => {
    await tg.close();
  });

  it('allows 20 messages a minute to a group and reports the seconds until the window frees', async () => {
    for (let i = 0; i < 20; i += 1) {
      await client.sendMessage(-3001, `m${i}`);
      now += 1_000;
    }

    const err = await telegramError(client.sendMessage(-3001, 'one too many'));

    expect(err.parameters?.retry_after).toBe(40);
    now += 40_000;
    await expect(client.sendMessage(-3001, 'after waiting')).resolves.toMatchObject({ text: 'after waiting' });
  });

  it('caps all chats together at 30 messages a second', async () => {
    now += 60_000;
    for (let chat = 0; chat < 30; chat += 1) await client.sendMessage(5000 + chat, 'hi');

    const err = await telegramError(client.sendMessage(6000, 'thirty-first'));

    expect(err.code).toBe(429);
    expect(tg.violations().at(-1)).toMatchObject({ chatId: 6000, scope: 'global', retryAfter: 1 });
  });

  it('counts edits against the same windows only with limitEdits', async () => {
    now += 60_000;
    const strict = await startTelegramStandIn({ now: () => now, limitEdits: true });
    const strictClient = new Telegram(strict.token, { apiRoot: strict.apiRoot });
    try {
      for (const [t, c] of [[tg, client], [strict, strictClient]] as const) {
        const m = await c.sendMessage(8001, 'v1');
        const edit = c.editMessageText(8001, m.message_id, undefined, 'v2');
        if (t === tg) await expect(edit).resolves.toMatchObject({ text: 'v2' });
        else expect((await telegramError(edit)).parameters?.retry_after).toBe(1);
      }
      expect(strict.violations()).toMatchObject([{ method: 'editMessageText', chatId: 8001, scope: 'chat' }]);
      now += 1_000;
      const m = strict.messages(8001)[0]!;
      await expect(strictClient.editMessageText(8001, m.messageId, undefined, 'v2')).resolves.toMatchObject({ text: 'v2' });
    } finally {
      await strict.close();
    }
  });

  it('forces 429s on demand without counting them as violations', async () => {
    now += 60_000;
    const before = tg.violations().length;
    tg.forceRateLimit(2, { retryAfter: 7 });

    const first = await telegramError(client.sendMessage(7001, 'a'));
    const second = await telegramError(client.sendMessage(7001, 'b'));
    const third = await client.sendMessage(7001, 'c');

    expect([first.parameters?.retry_after, second.parameters?.retry_after]).toEqual([7, 7]);
    expect(third.text).toBe('c');
    expect(tg.violations()).toHaveLength(before);
    expect(tg.rateLimited().filter((r) => r.reason === 'forced')).toHaveLength(2);
  });

  it('serves getUpdates by offset, limit and allowed_updates', async () => {
    const a = tg.sendText({ chatId: 8001, text: 'one' });
    const b = tg.sendText({ chatId: 8001, text: 'two' });

    const firstBatch = await client.getUpdates(0, 1, 0, undefined);
    expect(firstBatch.map((u) => u.update_id)).toEqual([a.updateId]);
    const afterConfirm = await client.getUpdates(0, 100, a.updateId + 1, undefined);
    expect(afterConfirm.map((u) => u.update_id)).toEqual([b.updateId]);

    const click = tg.clickButton({ chatId: 8001, messageId: 999, data: 'x', force: true });
    const onlyCallbacks = await client.getUpdates(0, 100, b.updateId + 1, ['callback_query']);
    expect(onlyCallbacks.map((u) => ('callback_query' in u ? u.callback_query.id : undefined))).toEqual([click]);
  });

  it('answers sends and edits to an upgraded group with migrate_to_chat_id, and queues the service messages', async () => {
    const sent = await client.sendMessage(-9001, 'before');
    const [a, b] = tg.migrateChat(-9001, -1_000_000_009_001, 42);
    const send = await telegramError(client.sendMessage(-9001, 'after'));
    expect(send.code).toBe(400);
    expect(send.description).toBe('Bad Request: group chat was upgraded to a supergroup chat');
    expect(send.parameters?.migrate_to_chat_id).toBe(-1_000_000_009_001);
    const edit = await telegramError(client.editMessageText(-9001, sent.message_id, undefined, 'edited'));
    expect(edit.parameters?.migrate_to_chat_id).toBe(-1_000_000_009_001);
    expect((await client.sendMessage(-1_000_000_009_001, 'there')).chat).toMatchObject({ id: -1_000_000_009_001, type: 'supergroup' });
    const updates = await client.getUpdates(0, 100, -2, ['message']);
    expect(updates.map((u) => u.update_id)).toEqual([a, b]);
    expect(updates.map((u) => ('message' in u ? u.message : undefined))).toEqual([
      expect.objectContaining({ chat: expect.objectContaining({ id: -9001 }), migrate_to_chat_id: -1_000_000_009_001 }),
      expect.objectContaining({ chat: expect.objectContaining({ id: -1_000_000_009_001 }), migrate_from_chat_id: -9001 }),
    ]);
  });

  it('refuses a chat-scoped command menu for a chat it never saw, like Telegram ("chat not found")', async () => {
    const err = await telegramError(client.setMyCommands([{ command: 'order', description: 'Order' }], { scope: { type: 'chat', chat_id: 123_456 } }));
    expect(err.description).toBe('Bad Request: chat not found');
    tg.sendText({ chatId: 123_456, text: 'hi' });
    await client.setMyCommands([{ command: 'order', description: 'Order' }], { scope: { type: 'chat', chat_id: 123_456 } });
    expect(tg.commands({ scope: { type: 'chat', chat_id: 123_456 } }).map((c) => c.command)).toEqual(['order']);
  });

  it('dates a message in the past and marks a forwarded one', async () => {
    tg.sendText({ chatId: 8101, text: '/order', date: 1_700_000_000, forwardedFrom: { userId: 5 } });
    const [u] = (await client.getUpdates(0, 100, -1, ['message'])) as { message?: { date: number; forward_origin?: unknown } }[];
    expect(u?.message?.date).toBe(1_700_000_000);
    expect(u?.message?.forward_origin).toMatchObject({ type: 'user', sender_user: { id: 5 }, date: 1_700_000_000 });
  });
});

describe('Telegram stand-in forum topics and silent messages (real telegraf client)', () => {
  const FORUM = -1_001_000_000_555;
  const GROUP = -1_001_000_000_556;
  let tg: TelegramStandIn;
  let client: Telegram;
  let topics: number[];

  beforeAll(async () => {
    tg = await startTelegramStandIn();
    client = new Telegram(tg.token, { apiRoot: tg.apiRoot });
    topics = tg.makeForum(FORUM, ['Cascades', 'Fills']);
    tg.sendText({ chatId: GROUP, fromId: 9, text: 'a supergroup without topics' });
  });

  afterAll(async () => {
    await tg.close();
  });

  it('gives topics ids after the General topic (1) and marks the chat as a forum', async () => {
    expect(topics).toHaveLength(2);
    expect(topics.every((id) => id > 1)).toBe(true);
    const m = await client.sendMessage(FORUM, 'in General');
    expect(m.chat).toMatchObject({ id: FORUM, is_forum: true });
    expect(m).not.toHaveProperty('message_thread_id');
  });

  it('posts into the named topic and says so in the returned message', async () => {
    const m = await client.sendMessage(FORUM, 'a fill', { message_thread_id: topics[1]!, disable_notification: true });
    expect(m).toMatchObject({ message_thread_id: topics[1], is_topic_message: true });
    expect(tg.message(FORUM, m.message_id)).toMatchObject({ messageThreadId: topics[1], disableNotification: true });
    const loud = await client.sendMessage(FORUM, 'a cascade', { message_thread_id: topics[0]! });
    expect(tg.message(FORUM, loud.message_id)).toMatchObject({ messageThreadId: topics[0], disableNotification: false });
  });

  it('refuses an unknown topic, the General topic by id and a chat without topics with "message thread not found"', async () => {
    for (const [chat, thread] of [[FORUM, 999], [FORUM, 1], [GROUP, topics[0]!]] as const) {
      const e = await telegramError(client.sendMessage(chat, 'lost', { message_thread_id: thread }));
      expect([e.code, e.description]).toEqual([400, 'Bad Request: message thread not found']);
    }
    const before = tg.messages(FORUM).length;
    const e = await telegramError(client.sendPhoto(FORUM, { source: Buffer.from('png'), filename: 'x.png' }, { message_thread_id: 999 }));
    expect(e.description).toBe('Bad Request: message thread not found');
    expect(tg.messages(FORUM)).toHaveLength(before);
  });

  it('refuses a closed topic with TOPIC_CLOSED and a deleted one as not found', async () => {
    const t = tg.createTopic(FORUM, 'Temporary');
    tg.closeTopic(FORUM, t);
    expect((await telegramError(client.sendMessage(FORUM, 'x', { message_thread_id: t }))).description).toBe('Bad Request: TOPIC_CLOSED');
    tg.closeTopic(FORUM, t, false);
    await client.sendMessage(FORUM, 'reopened', { message_thread_id: t });
    tg.deleteTopic(FORUM, t);
    expect((await telegramError(client.sendMessage(FORUM, 'x', { message_thread_id: t }))).description).toBe('Bad Request: message thread not found');
  });

  it('puts a reply in the topic of the message it answers, and an edit leaves a message in its topic', async () => {
    const { messageId } = tg.sendText({ chatId: FORUM, fromId: 7, text: '/subscribe', threadId: topics[0]! });
    const reply = await client.sendMessage(FORUM, 'answer', { reply_parameters: { message_id: messageId } });
    expect(reply.message_thread_id).toBe(topics[0]);
    await client.editMessageText(FORUM, reply.message_id, undefined, 'answer, edited');
    expect(tg.message(FORUM, reply.message_id)).toMatchObject({ messageThreadId: topics[0], text: 'answer, edited', editCount: 1 });
  });
});
