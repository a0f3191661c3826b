import type { AttachmentRecord, JsonObject, RegisteredCommand, StoredMessage } from './types.js';
import type { ChannelState, GuildState, ResolvedOptions, RoleState, World } from './world.js';

/** API-shaped objects as Discord v10 sends them; discord.js reads several fields without guards, so keep them whole. */

export function userJson(id: string, username: string, bot = false): JsonObject {
  return {
    id,
    username,
    discriminator: '0',
    global_name: bot ? null : username,
    avatar: null,
    public_flags: 0,
    flags: 0,
    ...(bot ? { bot: true } : {}),
  };
}

export function botUserJson(o: ResolvedOptions): JsonObject {
  return { ...userJson(o.botUserId, o.botUsername, true), verified: true, mfa_enabled: false, email: null };
}

export function testUserJson(userId: string): JsonObject {
  return userJson(userId, `user-${userId}`);
}

export function applicationJson(o: ResolvedOptions): JsonObject {
  return {
    id: o.applicationId,
    name: o.botUsername,
    icon: null,
    description: '',
    summary: '',
    type: null,
    bot_public: false,
    bot_require_code_grant: false,
    verify_key: '0'.repeat(64),
    flags: 0,
    tags: [],
    team: null,
    owner: userJson('1', 'standin-owner'),
    bot: userJson(o.botUserId, o.botUsername, true),
    approximate_guild_count: o.guilds.length,
  };
}

export function channelJson(c: ChannelState): JsonObject {
  return {
    id: c.id,
    type: c.type,
    guild_id: c.guildId,
    name: c.name,
    position: 0,
    permission_overwrites: [],
    parent_id: null,
    nsfw: false,
    topic: null,
    last_message_id: null,
    rate_limit_per_user: 0,
    flags: 0,
  };
}

export function roleJson(r: RoleState): JsonObject {
  return {
    id: r.id,
    name: r.name,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position: r.position,
    permissions: r.permissions,
    managed: false,
    mentionable: false,
    flags: 0,
  };
}

export function memberJson(user: JsonObject, roleIds: readonly string[], joinedAt: string, permissions?: string): JsonObject {
  return {
    user,
    nick: null,
    avatar: null,
    banner: null,
    roles: [...roleIds],
    joined_at: joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    communication_disabled_until: null,
    ...(permissions !== undefined ? { permissions } : {}),
  };
}

export function guildJson(g: GuildState): JsonObject {
  return {
    id: g.id,
    name: g.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: '1',
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: [...g.roles.values()].map(roleJson),
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: null,
    system_channel_flags: 0,
    rules_channel_id: null,
    public_updates_channel_id: null,
    safety_alerts_channel_id: null,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    premium_progress_bar_enabled: false,
    preferred_locale: 'en-US',
    nsfw_level: 0,
    max_members: 500_000,
    max_video_channel_users: 25,
    max_stage_video_channel_users: 50,
    incidents_data: null,
  };
}

/** The GUILD_CREATE body: the guild plus everything a READY-ed client caches. */
export function guildCreateJson(g: GuildState, world: World): JsonObject {
  const o = world.opts;
  return {
    ...guildJson(g),
    joined_at: g.joinedAt,
    large: false,
    unavailable: false,
    member_count: 1,
    members: [memberJson(userJson(o.botUserId, o.botUsername, true), [], g.joinedAt)],
    channels: [...g.channels.values()].map((c) => {
      const { guild_id: _omit, ...rest } = channelJson(c);
      return rest;
    }),
    threads: [],
    presences: [],
    voice_states: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

export function attachmentJson(a: AttachmentRecord, channelId: string): JsonObject {
  const url = `https://cdn.discordapp.invalid/attachments/${channelId}/${a.id}/${encodeURIComponent(a.filename)}`;
  return {
    id: a.id,
    filename: a.filename,
    size: a.size,
    url,
    proxy_url: url,
    content_type: a.contentType,
    description: a.description,
  };
}

export function messageJson(m: StoredMessage, world: World): JsonObject {
  const o = world.opts;
  const fromWebhook = m.source === 'interaction' || m.source === 'followup';
  return {
    id: m.id,
    type: m.source === 'interaction' ? 20 : 0,
    channel_id: m.channelId,
    ...(m.guildId !== null ? { guild_id: m.guildId } : {}),
    author: userJson(m.authorId, m.authorId === o.botUserId ? o.botUsername : `user-${m.authorId}`, m.authorId === o.botUserId),
    content: m.content,
    timestamp: new Date(m.createdAt).toISOString(),
    edited_timestamp: m.editedAt === null ? null : new Date(m.editedAt).toISOString(),
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: m.attachments.map((a) => attachmentJson(a, m.channelId)),
    embeds: m.embeds,
    pinned: false,
    flags: m.flags | (m.loading ? 128 : 0),
    components: m.components,
    ...(fromWebhook ? { webhook_id: o.applicationId, application_id: o.applicationId } : {}),
  };
}

export function commandJson(c: RegisteredCommand): JsonObject {
  const b = c.body;
  return {
    id: c.id,
    application_id: c.applicationId,
    ...(c.guildId !== null ? { guild_id: c.guildId } : {}),
    version: c.id,
    type: 1,
    description: '',
    default_member_permissions: null,
    nsfw: false,
    ...b,
  };
}
