import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  DiscordAPIError,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Routes,
  type Interaction,
  type TextChannel,
} from 'discord.js';
import { startDiscordStandIn, type DiscordStandIn } from './discord/index.js';

const GUILD = '1100000000000000001';
const CHANNEL = '1100000000000000002';
const TRADER_ROLE = '1100000000000000003';
const USER = '1100000000000000004';

/** The bot under test: a plain discord.js handler, as a transport would write it. */
async function handle(i: Interaction): Promise<void> {
  if (i.isAutocomplete()) {
    const typed = i.options.getFocused().toUpperCase();
    await i.respond(['BTC', 'ETH', 'SOL'].filter((s) => s.startsWith(typed)).map((s) => ({ name: `${s}-PERP`, value: s })));
    return;
  }
  if (i.isButton()) {
    if (i.customId === 'approve:1') await i.update({ content: `approved by ${i.user.id}`, components: [] });
    else if (i.customId === 'later:1') {
      await i.deferUpdate();
      await i.editReply({ content: 'approved after a wait', components: [] });
    }
    return;
  }
  if (!i.isChatInputCommand()) return;
  switch (i.commandName) {
    case 'ping': {
      const roles = i.inCachedGuild() ? [...i.member.roles.cache.keys()].filter((r) => r !== i.guildId) : [];
      await i.reply({ embeds: [new EmbedBuilder().setTitle('pong').setDescription(`roles=${roles.join(',')} symbol=${i.options.getString('symbol') ?? '-'} usd=${i.options.getNumber('usd') ?? '-'}`)] });
      return;
    }
    case 'slow':
      await i.deferReply({ flags: MessageFlags.Ephemeral });
      await i.editReply({ content: 'working…' });
      await i.editReply({ content: 'done', embeds: [new EmbedBuilder().setTitle('result')] });
      return;
    case 'chart':
      await i.deferReply();
      await i.followUp({ content: 'chart', files: [new AttachmentBuilder(Buffer.alloc(1234, 7), { name: 'funding.png' })] });
      await i.followUp({ content: 'second' });
      return;
    case 'receipt': {
      const r = await i.deferReply({ withResponse: true });
      await i.editReply(`loading=${String(r.interaction.responseMessageLoading)} id=${r.resource?.message?.id ?? '-'}`);
      return;
    }
    case 'twice':
      await i.reply({ content: 'once' });
      // discord.js refuses a second reply itself, so go to the wire the way a buggy transport would.
      await i.client.rest.post(Routes.interactionCallback(i.id, i.token), { body: { type: 4, data: { content: 'twice' } }, auth: false });
      return;
  }
}

describe('discord stand-in driven by the real discord.js client', () => {
  let discord: DiscordStandIn;
  let client: Client;
  const handlerErrors: unknown[] = [];

  beforeAll(async () => {
    discord = await startDiscordStandIn({
      guilds: [{ id: GUILD, name: 'desk', channels: [{ id: CHANNEL, name: 'trading' }] }],
      channelMessageRateLimit: { limit: 2, windowMs: 400 },
      heartbeatIntervalMs: 200,
    });
    client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.url } });
    client.on(Events.InteractionCreate, (i) => {
      handle(i).catch((e: unknown) => handlerErrors.push(e));
    });
    const ready = once(client, Events.ClientReady);
    await expect(client.login(discord.token)).resolves.toBe(discord.token);
    await ready;
  });

  afterAll(async () => {
    await client?.destroy();
    await discord?.close();
  });

  it('when the client logs in, should be ready with the configured guild and channel cached', () => {
    expect(client.isReady()).toBe(true);
    expect(client.user?.id).toBe(discord.botUserId);
    expect(client.application?.id).toBe(discord.applicationId);
    expect(client.guilds.cache.get(GUILD)?.name).toBe('desk');
    expect(client.channels.cache.get(CHANNEL)?.isTextBased()).toBe(true);
    expect(discord.identifies()[0]?.intents).toBe(GatewayIntentBits.Guilds);
  });

  it('when the client heartbeats, should acknowledge so the connection stays up', async () => {
    await vi.waitFor(() => expect(discord.heartbeats()).toBeGreaterThan(0));
    await vi.waitFor(() => expect(client.ws.ping).toBeGreaterThanOrEqual(0));
  });

  it('when commands are set for a guild, should record them and keep ids across an overwrite', async () => {
    const commands = [
      { name: 'ping', description: 'Ping', options: [{ type: 3, name: 'symbol', description: 'Symbol', autocomplete: true }, { type: 10, name: 'usd', description: 'USD' }] },
      { name: 'slow', description: 'Deferred' },
      { name: 'chart', description: 'Chart' },
      { name: 'twice', description: 'Replies twice' },
    ];
    const set = await client.application!.commands.set(commands, GUILD);
    expect([...set.values()].map((c) => c.name).sort()).toEqual(['chart', 'ping', 'slow', 'twice']);
    const first = discord.registeredCommands(GUILD);
    expect(first.map((c) => c.body.name)).toEqual(['ping', 'slow', 'chart', 'twice']);
    expect(discord.registeredCommands()).toEqual([]);

    await client.application!.commands.set(commands, GUILD);
    expect(discord.registeredCommands(GUILD).map((c) => c.id)).toEqual(first.map((c) => c.id));
  });

  it('when a command registration is invalid, should refuse it like Discord (50035)', async () => {
    const err = await client.application!.commands.set([{ name: 'Bad Name', description: 'x' }], GUILD).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiscordAPIError);
    expect((err as DiscordAPIError).code).toBe(50035);
    expect(discord.registeredCommands(GUILD)).toHaveLength(4);
  });

  it('when a slash command is dispatched, should reach interactionCreate and land the embed reply', async () => {
    const ix = discord.dispatchSlashCommand({ name: 'ping', userId: USER, roleIds: [TRADER_ROLE], options: { symbol: 'BTC', usd: 250 } });
    const first = await ix.firstResponse();
    expect(first.callbackType).toBe(4);
    expect(first.rejected).toBeNull();
    const final = await ix.final();
    expect(final.embeds[0]?.title).toBe('pong');
    // Role known only to the dispatch reached the member cache; the number option kept its registered type.
    expect(final.embeds[0]?.description).toBe(`roles=${TRADER_ROLE} symbol=BTC usd=250`);
    expect(ix.payload.data).toMatchObject({ id: discord.registeredCommands(GUILD)[0]?.id });
    expect(ix.ackLatencyMs).not.toBeNull();
    expect(ix.late).toBe(false);
  });

  it('when the reply is deferred and edited twice, should show the last edit', async () => {
    const ix = discord.dispatchSlashCommand({ name: 'slow', userId: USER });
    expect((await ix.firstResponse()).callbackType).toBe(5);
    const final = await ix.waitForMessage((m) => m.embeds.length > 0);
    expect(final.content).toBe('done');
    expect(final.embeds.map((e) => e.title)).toEqual(['result']);
    expect(final.ephemeral).toBe(true);
    expect(ix.responses.map((r) => r.kind)).toEqual(['callback', 'edit-original', 'edit-original']);
  });

  it('when a deferred reply is followed up with a file, should fill the deferred message then add a new one', async () => {
    const ix = discord.dispatchSlashCommand({ name: 'chart', userId: USER });
    const final = await ix.final();
    expect(final.content).toBe('chart');
    expect(final.attachments).toMatchObject([{ filename: 'funding.png', size: 1234 }]);
    await ix.waitFor(() => (ix.followUps().length === 1 ? true : null), 'the second follow-up');
    expect(ix.followUps().map((m) => m.content)).toEqual(['second']);
  });

  it('when deferReply (with_response=true) is followed by editReply, final() should be the edit', async () => {
    const ix = discord.dispatchSlashCommand({ name: 'receipt', userId: USER });
    const final = await ix.final();
    expect(final.content).toBe(`loading=true id=${final.id}`);
  });

  it('when the client fetches guild, channel and member, should get them from the stand-in', async () => {
    const guild = await client.guilds.fetch({ guild: GUILD, force: true });
    expect(guild.name).toBe('desk');
    const channel = await client.channels.fetch(CHANNEL, { force: true });
    expect(channel?.id).toBe(CHANNEL);
    const member = await guild.members.fetch({ user: USER, force: true });
    expect(member.roles.cache.has(TRADER_ROLE)).toBe(true);
  });

  it('when the client answers an interaction twice, should refuse the second with 40060', async () => {
    const ix = discord.dispatchSlashCommand({ name: 'twice', userId: USER });
    await ix.waitFor(() => (ix.responses.length === 2 ? true : null), 'two callbacks');
    expect(ix.responses.map((r) => r.rejected)).toEqual([null, 'already-acknowledged']);
    await vi.waitFor(() => expect(handlerErrors).toHaveLength(1));
    expect((handlerErrors.pop() as DiscordAPIError).code).toBe(40060);
    expect((await ix.final()).content).toBe('once');
  });

  it('when autocomplete is dispatched, should record the choices the client responded with', async () => {
    const ix = discord.dispatchAutocomplete({ name: 'ping', userId: USER, focused: { name: 'symbol', value: 'e' } });
    expect(await ix.autocompleteChoices()).toEqual([{ name: 'ETH-PERP', value: 'ETH' }]);
    await expect(ix.final()).rejects.toThrow(/autocompleteChoices/);
  });

  it('when a button on a bot message is clicked, update() should edit that message', async () => {
    const channel = client.channels.cache.get(CHANNEL) as TextChannel;
    const posted = await channel.send({
      content: 'approve order?',
      components: [new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId('approve:1').setLabel('Approve').setStyle(ButtonStyle.Success))],
    });
    const ix = discord.dispatchButton({ customId: 'approve:1', userId: USER, messageId: posted.id });
    expect((await ix.firstResponse()).callbackType).toBe(7);
    const final = await ix.final();
    expect(final).toMatchObject({ id: posted.id, content: `approved by ${USER}`, components: [] });
    expect(discord.message(posted.id)?.content).toBe(`approved by ${USER}`);
    expect(discord.messageEdits(CHANNEL).at(-1)).toMatchObject({ messageId: posted.id, via: 'interaction-callback' });
  });

  it('when a button is deferred then edited, final() should wait for the edit of the button message', async () => {
    const ix = discord.dispatchButton({ customId: 'later:1', userId: USER });
    const final = await ix.final();
    expect(final.content).toBe('approved after a wait');
    expect(final.id).toBe(ix.componentMessageId);
    expect(ix.responses.map((r) => [r.kind, r.callbackType])).toEqual([['callback', 6], ['edit-original', null]]);
  });

  it('when channel.send exceeds the limit, discord.js should queue on the headers and nothing over the limit is accepted', async () => {
    const channel = client.channels.cache.get(CHANNEL) as TextChannel;
    const before = discord.acceptedMessages(CHANNEL).length;
    // Let the window the earlier test opened close, so this burst starts a fresh one.
    await new Promise((r) => setTimeout(r, 450));
    const sent = await Promise.all([1, 2, 3, 4, 5].map((n) => channel.send(`tick ${n}`)));
    expect(sent).toHaveLength(5);
    const accepted = discord.acceptedMessages(CHANNEL).slice(before);
    expect(accepted.map((a) => discord.message(a.messageId)?.content).sort()).toEqual(['tick 1', 'tick 2', 'tick 3', 'tick 4', 'tick 5']);
    // The stand-in enforces 2 per 400 ms: any three consecutive acceptances must span at least one window.
    for (let i = 2; i < accepted.length; i++) {
      expect(accepted[i]!.at - accepted[i - 2]!.at).toBeGreaterThanOrEqual(400);
    }
    expect(discord.violations(CHANNEL).filter((v) => !v.forced)).toEqual([]);
  });

  it('when a 429 is forced, discord.js should wait and retry and the message is accepted exactly once', async () => {
    const channel = client.channels.cache.get(CHANNEL) as TextChannel;
    await new Promise((r) => setTimeout(r, 450));
    discord.forceRateLimit('POST /channels/:channel/messages', 1, 100);
    const m = await channel.send({ content: 'after 429', files: [new AttachmentBuilder(Buffer.alloc(2048, 1), { name: 'pnl.csv' })] });
    expect(discord.violations(CHANNEL).filter((v) => v.forced)).toMatchObject([{ route: 'POST /channels/:channel/messages', retryAfterSeconds: 0.1 }]);
    const copies = discord.channelMessages(CHANNEL).filter((x) => x.content === 'after 429');
    expect(copies).toHaveLength(1);
    expect(copies[0]?.id).toBe(m.id);
    expect(copies[0]?.attachments).toMatchObject([{ filename: 'pnl.csv', size: 2048 }]);
  });

  it('when a client ignores the headers, should answer 429 with Discord\'s body and count the violation', async () => {
    await new Promise((r) => setTimeout(r, 450));
    const post = () =>
      fetch(`${discord.url}/v10/channels/${CHANNEL}/messages`, {
        method: 'POST',
        headers: { Authorization: `Bot ${discord.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ content: 'raw' }),
      });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await post());
    expect(statuses.map((r) => r.status)).toEqual([200, 200, 429]);
    const limited = statuses[2]!;
    const body = (await limited.json()) as { message: string; retry_after: number; global: boolean };
    expect(body.message).toBe('You are being rate limited.');
    expect(body.global).toBe(false);
    expect(body.retry_after).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(discord.violations(CHANNEL).filter((v) => !v.forced)).toHaveLength(1);
  });

  it('when a message is sent silent, should record SuppressNotifications, keep it through an edit and refuse flags a bot may not set', async () => {
    const channel = client.channels.cache.get(CHANNEL) as TextChannel;
    const m = await channel.send({ content: 'silent fill', flags: MessageFlags.SuppressNotifications });
    expect(m.flags.has(MessageFlags.SuppressNotifications)).toBe(true);
    expect(discord.message(m.id)?.flags).toBe(MessageFlags.SuppressNotifications);
    // Only SuppressEmbeds can change on an edit: clearing every flag leaves the message silent.
    await client.rest.patch(Routes.channelMessage(CHANNEL, m.id), { body: { content: 'silent fill, edited', flags: 0 } });
    expect(discord.message(m.id)).toMatchObject({ content: 'silent fill, edited', flags: MessageFlags.SuppressNotifications });
    const refused = await client.rest.post(Routes.channelMessages(CHANNEL), { body: { content: 'not ephemeral here', flags: MessageFlags.Ephemeral } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DiscordAPIError);
    expect((refused as DiscordAPIError).code).toBe(50035);
    expect(discord.channelMessages(CHANNEL).some((x) => x.content === 'not ephemeral here')).toBe(false);
  });

  it('when a route is unknown or the token is wrong, should answer like Discord and record only the unknown route', async () => {
    const unknown = await fetch(`${discord.url}/v10/guilds/${GUILD}/bans`, { headers: { Authorization: `Bot ${discord.token}` } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: '404: Not Found', code: 0 });
    const noAuth = await fetch(`${discord.url}/v10/users/@me`, { headers: { Authorization: 'Bot wrong' } });
    expect(noAuth.status).toBe(401);
    expect(discord.unhandled().map((u) => u.what)).toEqual([`GET /api/v10/guilds/${GUILD}/bans`]);
  });

  it('when Discord asks the client to reconnect, should resume the session and keep delivering interactions', async () => {
    const resumed = once(client, Events.ShardResume);
    discord.requestReconnect();
    await resumed;
    expect(discord.resumes()).toMatchObject([{ accepted: true }]);
    const ix = discord.dispatchSlashCommand({ name: 'ping', userId: USER });
    expect((await ix.final()).embeds[0]?.title).toBe('pong');
  });

  it('should have seen no handler errors beyond the deliberate double reply', () => {
    expect(handlerErrors).toEqual([]);
  });
});

describe('discord stand-in acknowledgement deadline', () => {
  it('when a callback comes after the deadline, should flag the interaction late and answer 10062', async () => {
    const discord = await startDiscordStandIn({ ackDeadlineMs: 150 });
    const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.url } });
    const errors: unknown[] = [];
    client.on(Events.InteractionCreate, (i) => {
      if (!i.isChatInputCommand()) return;
      void (async () => {
        await new Promise((r) => setTimeout(r, 250));
        await i.reply('too late');
      })().catch((e: unknown) => errors.push(e));
    });
    try {
      await client.login(discord.token);
      const ix = discord.dispatchSlashCommand({ name: 'slowpoke', userId: USER });
      const first = await ix.firstResponse();
      expect(first.rejected).toBe('late');
      expect(first.status).toBe(404);
      expect(ix.late).toBe(true);
      expect(ix.ackLatencyMs).toBeGreaterThan(150);
      expect(discord.lateInteractions()).toEqual([ix]);
      await vi.waitFor(() => expect(errors).toHaveLength(1));
      expect((errors[0] as DiscordAPIError).code).toBe(10062);
      await expect(ix.final()).rejects.toThrow(/never validly acknowledged/);
    } finally {
      await client.destroy();
      await discord.close();
    }
  });

  it('when the client presents a wrong token, login should fail with TokenInvalid', async () => {
    const discord = await startDiscordStandIn({ token: 'right-token' });
    const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.url } });
    try {
      await expect(client.login('wrong-token')).rejects.toMatchObject({ code: 'TokenInvalid' });
    } finally {
      await client.destroy();
      await discord.close();
    }
  });
});
