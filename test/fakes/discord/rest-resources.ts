import { discordError, isObject, type RestResult } from './http-io.js';
import { applyEdit, createMessage } from './message-body.js';
import {
  applicationJson,
  botUserJson,
  channelJson,
  commandJson,
  guildJson,
  memberJson,
  messageJson,
  roleJson,
  testUserJson,
} from './payloads.js';
import { bucketHeaders, type SlidingWindowLimiter, tooManyRequests } from './rate-limit.js';
import type { Route, RouteContext } from './router.js';
import { nextSnowflake } from './snowflake.js';
import type { Json, RegisteredCommand } from './types.js';
import { CHANNEL_CREATE_FLAGS, EDITABLE_FLAGS, validateCommands, validateMessageBody } from './validate.js';
import type { GuildState, World } from './world.js';

/** Gateway discovery, users, application, commands, guilds and channel messages. */

export const CHANNEL_MESSAGES_ROUTE = 'POST /channels/:channel/messages';
const MESSAGES_BUCKET = 'standin-channel-messages';

export function resourceRoutes(world: World, limiter: SlidingWindowLimiter, gatewayUrl: () => string): Route[] {
  const o = world.opts;

  const guildOr404 = (ctx: RouteContext): GuildState | RestResult =>
    world.guilds.get(ctx.params.guild ?? '') ?? discordError(404, 10004, 'Unknown Guild');
  const isGuild = (g: GuildState | RestResult): g is GuildState => 'channels' in g;

  const appOr403 = (ctx: RouteContext): RestResult | null =>
    ctx.params.app === o.applicationId ? null : discordError(403, 50001, 'Missing Access');

  const commandsIn = (guildId: string | null): RegisteredCommand[] =>
    world.commands.filter((c) => c.guildId === guildId);

  const listCommands = (guildId: string | null): RestResult => ({
    status: 200,
    body: commandsIn(guildId).map(commandJson),
  });

  const overwriteCommands = (ctx: RouteContext, guildId: string | null): RestResult => {
    const body = ctx.body.json;
    if (!Array.isArray(body)) return discordError(400, 50035, 'Invalid Form Body', { _errors: [{ code: 'LIST_TYPE_CONVERT', message: 'Only iterables may be used in a ListType' }] });
    const bad = validateCommands(body);
    if (bad) return bad;
    const previous = commandsIn(guildId);
    const next: RegisteredCommand[] = body.filter(isObject).map((b) => ({
      // Discord keeps a command's id across overwrites when its name (and type) is unchanged.
      id: previous.find((p) => p.body.name === b.name && (p.body.type ?? 1) === (b.type ?? 1))?.id ?? nextSnowflake(),
      applicationId: o.applicationId,
      guildId,
      body: b,
    }));
    for (let i = world.commands.length - 1; i >= 0; i--) {
      if (world.commands[i]?.guildId === guildId) world.commands.splice(i, 1);
    }
    world.commands.push(...next);
    return { status: 200, body: next.map(commandJson) };
  };

  const createCommand = (ctx: RouteContext, guildId: string | null): RestResult => {
    const b = ctx.body.json;
    if (!isObject(b)) return discordError(400, 50035, 'Invalid Form Body');
    const bad = validateCommands([b]);
    if (bad) return bad;
    const existing = commandsIn(guildId).find((c) => c.body.name === b.name && (c.body.type ?? 1) === (b.type ?? 1));
    if (existing) {
      existing.body = b;
      return { status: 200, body: commandJson(existing) };
    }
    const c: RegisteredCommand = { id: nextSnowflake(), applicationId: o.applicationId, guildId, body: b };
    world.commands.push(c);
    return { status: 201, body: commandJson(c) };
  };

  const deleteCommand = (ctx: RouteContext, guildId: string | null): RestResult => {
    const i = world.commands.findIndex((c) => c.guildId === guildId && c.id === ctx.params.command);
    if (i < 0) return discordError(404, 10063, 'Unknown application command');
    world.commands.splice(i, 1);
    return { status: 204 };
  };

  const guildCommands = (ctx: RouteContext, then: (guildId: string) => RestResult): RestResult => {
    const denied = appOr403(ctx);
    if (denied) return denied;
    const g = guildOr404(ctx);
    return isGuild(g) ? then(g.id) : g;
  };

  const channelOr404 = (ctx: RouteContext): RestResult | null =>
    world.channels.has(ctx.params.channel ?? '') ? null : discordError(404, 10003, 'Unknown Channel');

  const postChannelMessage = (ctx: RouteContext): RestResult => {
    const missing = channelOr404(ctx);
    if (missing) return missing;
    const channelId = ctx.params.channel ?? '';
    const taken = limiter.take(channelId);
    if (!taken.ok) {
      const r = tooManyRequests(MESSAGES_BUCKET, taken.limit, taken.retryAfterMs);
      world.violations.push({ route: CHANNEL_MESSAGES_ROUTE, channelId, at: Date.now(), retryAfterSeconds: r.body.retry_after, forced: false });
      return r;
    }
    const headers = bucketHeaders(MESSAGES_BUCKET, taken.limit, taken.remaining, taken.resetAfterMs);
    const body = isObject(ctx.body.json) ? ctx.body.json : {};
    const bad = validateMessageBody(body, { creating: true, fileCount: ctx.body.files.length, allowedFlags: CHANNEL_CREATE_FLAGS });
    if (bad) return { ...bad, headers };
    const channel = world.channels.get(channelId);
    const m = createMessage(
      { channelId, guildId: channel?.guildId ?? null, authorId: o.botUserId, source: 'channel', interactionId: null },
      body,
      ctx.body.files,
    );
    world.messages.set(m.id, m);
    world.accepted.push({ channelId, messageId: m.id, at: m.createdAt });
    return { status: 200, body: messageJson(m, world), headers };
  };

  const channelMessage = (ctx: RouteContext) => {
    const m = world.messages.get(ctx.params.message ?? '');
    return m && !m.deleted && m.channelId === ctx.params.channel && !m.loading ? m : null;
  };

  const patchChannelMessage = (ctx: RouteContext): RestResult => {
    const missing = channelOr404(ctx);
    if (missing) return missing;
    const m = channelMessage(ctx);
    if (!m) return discordError(404, 10008, 'Unknown Message');
    if (m.authorId !== o.botUserId) return discordError(403, 50005, 'Cannot edit a message authored by another user');
    const body = isObject(ctx.body.json) ? ctx.body.json : {};
    const bad = validateMessageBody(body, { creating: false, fileCount: ctx.body.files.length });
    if (bad) return bad;
    // Only SUPPRESS_EMBEDS changes on an edit: a silent message stays silent whatever flags the edit carries.
    const edit = typeof body.flags === 'number' ? { ...body, flags: (m.flags & ~EDITABLE_FLAGS) | (body.flags & EDITABLE_FLAGS) } : body;
    const added = applyEdit(m, edit, ctx.body.files);
    world.edits.push({ channelId: m.channelId, messageId: m.id, via: 'channel', body, attachments: added, at: Date.now() });
    return { status: 200, body: messageJson(m, world) };
  };

  const listChannelMessages = (ctx: RouteContext): RestResult => {
    const missing = channelOr404(ctx);
    if (missing) return missing;
    const limit = Math.min(100, Math.max(1, Number(ctx.query.get('limit') ?? 50) || 50));
    const list = [...world.messages.values()]
      .filter((m) => m.channelId === ctx.params.channel && !m.deleted && !m.loading && (m.flags & 64) === 0)
      .sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1))
      .slice(0, limit);
    return { status: 200, body: list.map((m) => messageJson(m, world)) };
  };

  const member = (g: GuildState, userId: string): Json | null => {
    if (userId === o.botUserId) return memberJson(botUserJson(o), [], g.joinedAt);
    const roles = g.members.get(userId);
    return roles ? memberJson(testUserJson(userId), roles, g.joinedAt) : null;
  };

  return [
    {
      method: 'GET',
      pattern: '/gateway/bot',
      auth: true,
      handle: () => ({
        status: 200,
        body: {
          url: gatewayUrl(),
          shards: 1,
          session_start_limit: { total: 1000, remaining: 1000, reset_after: 86_400_000, max_concurrency: 1 },
        },
      }),
    },
    { method: 'GET', pattern: '/gateway', auth: false, handle: () => ({ status: 200, body: { url: gatewayUrl() } }) },
    { method: 'GET', pattern: '/users/@me', auth: true, handle: () => ({ status: 200, body: botUserJson(o) }) },
    {
      method: 'GET',
      pattern: '/users/:user',
      auth: true,
      handle: (ctx) => {
        const id = ctx.params.user ?? '';
        if (id === o.botUserId) return { status: 200, body: botUserJson(o) };
        const known = [...world.guilds.values()].some((g) => g.members.has(id));
        return known ? { status: 200, body: testUserJson(id) } : discordError(404, 10013, 'Unknown User');
      },
    },
    { method: 'GET', pattern: '/applications/@me', auth: true, handle: () => ({ status: 200, body: applicationJson(o) }) },
    { method: 'GET', pattern: '/applications/:app/commands', auth: true, handle: (ctx) => appOr403(ctx) ?? listCommands(null) },
    { method: 'PUT', pattern: '/applications/:app/commands', auth: true, handle: (ctx) => appOr403(ctx) ?? overwriteCommands(ctx, null) },
    { method: 'POST', pattern: '/applications/:app/commands', auth: true, handle: (ctx) => appOr403(ctx) ?? createCommand(ctx, null) },
    { method: 'DELETE', pattern: '/applications/:app/commands/:command', auth: true, handle: (ctx) => appOr403(ctx) ?? deleteCommand(ctx, null) },
    { method: 'GET', pattern: '/applications/:app/guilds/:guild/commands', auth: true, handle: (ctx) => guildCommands(ctx, (g) => listCommands(g)) },
    { method: 'PUT', pattern: '/applications/:app/guilds/:guild/commands', auth: true, handle: (ctx) => guildCommands(ctx, (g) => overwriteCommands(ctx, g)) },
    { method: 'POST', pattern: '/applications/:app/guilds/:guild/commands', auth: true, handle: (ctx) => guildCommands(ctx, (g) => createCommand(ctx, g)) },
    { method: 'DELETE', pattern: '/applications/:app/guilds/:guild/commands/:command', auth: true, handle: (ctx) => guildCommands(ctx, (g) => deleteCommand(ctx, g)) },
    {
      method: 'GET',
      pattern: '/guilds/:guild',
      auth: true,
      handle: (ctx) => {
        const g = guildOr404(ctx);
        return isGuild(g) ? { status: 200, body: guildJson(g) } : g;
      },
    },
    {
      method: 'GET',
      pattern: '/guilds/:guild/channels',
      auth: true,
      handle: (ctx) => {
        const g = guildOr404(ctx);
        return isGuild(g) ? { status: 200, body: [...g.channels.values()].map(channelJson) } : g;
      },
    },
    {
      method: 'GET',
      pattern: '/guilds/:guild/roles',
      auth: true,
      handle: (ctx) => {
        const g = guildOr404(ctx);
        return isGuild(g) ? { status: 200, body: [...g.roles.values()].map(roleJson) } : g;
      },
    },
    {
      method: 'GET',
      pattern: '/guilds/:guild/members/:user',
      auth: true,
      handle: (ctx) => {
        const g = guildOr404(ctx);
        if (!isGuild(g)) return g;
        const m = member(g, ctx.params.user ?? '');
        return m ? { status: 200, body: m } : discordError(404, 10007, 'Unknown Member');
      },
    },
    {
      method: 'GET',
      pattern: '/guilds/:guild/members',
      auth: true,
      handle: (ctx) => {
        const g = guildOr404(ctx);
        if (!isGuild(g)) return g;
        const ids = [o.botUserId, ...g.members.keys()];
        return { status: 200, body: ids.flatMap((id) => member(g, id) ?? []) };
      },
    },
    {
      method: 'GET',
      pattern: '/channels/:channel',
      auth: true,
      handle: (ctx) => {
        const c = world.channels.get(ctx.params.channel ?? '');
        return c ? { status: 200, body: channelJson(c) } : discordError(404, 10003, 'Unknown Channel');
      },
    },
    { method: 'POST', pattern: '/channels/:channel/messages', auth: true, handle: postChannelMessage },
    { method: 'GET', pattern: '/channels/:channel/messages', auth: true, handle: listChannelMessages },
    {
      method: 'GET',
      pattern: '/channels/:channel/messages/:message',
      auth: true,
      handle: (ctx) => {
        const missing = channelOr404(ctx);
        if (missing) return missing;
        const m = channelMessage(ctx);
        return m ? { status: 200, body: messageJson(m, world) } : discordError(404, 10008, 'Unknown Message');
      },
    },
    { method: 'PATCH', pattern: '/channels/:channel/messages/:message', auth: true, handle: patchChannelMessage },
    {
      method: 'DELETE',
      pattern: '/channels/:channel/messages/:message',
      auth: true,
      handle: (ctx) => {
        const missing = channelOr404(ctx);
        if (missing) return missing;
        const m = channelMessage(ctx);
        if (!m) return discordError(404, 10008, 'Unknown Message');
        m.deleted = true;
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: '/channels/:channel/typing',
      auth: true,
      handle: (ctx) => channelOr404(ctx) ?? { status: 204 },
    },
  ];
}
