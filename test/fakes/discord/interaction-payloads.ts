import { randomBytes } from 'node:crypto';
import { isObject } from './http-io.js';
import { channelJson, memberJson, messageJson, roleJson, testUserJson } from './payloads.js';
import { nextSnowflake } from './snowflake.js';
import type { Json, JsonObject, StoredMessage } from './types.js';
import { DEFAULT_EVERYONE_PERMISSIONS, type ChannelState, type GuildState, type World } from './world.js';

/** INTERACTION_CREATE bodies as Discord sends them to a guild bot. discord.js reads `entitlements`,
 * `authorizing_integration_owners`, `member.user` and (for components) `message` without guards. */

export type OptionValue = string | number | boolean;

export interface InvokerSpec {
  userId: string;
  /** Roles the member holds; omitted: the roles this user had in the previous dispatch (none for a new user).
   * Ids the guild does not know yet are created first (GUILD_ROLE_CREATE). */
  roleIds?: string[];
  /** Defaults to the guild's first channel; an unknown id is created first (CHANNEL_CREATE). */
  channelId?: string;
  /** Defaults to the first configured guild. */
  guildId?: string;
  /** Member permissions in the channel; default: OR of @everyone and the member's roles. */
  permissions?: string;
  locale?: string;
  /** A direct message with the bot instead of a guild channel: no guild, no member, `user` set, context 1 (BOT_DM).
   * The DM channel id defaults to one per user. */
  dm?: boolean;
}

export interface SlashCommandSpec extends InvokerSpec {
  name: string;
  /** `{ symbol: 'BTC', usd: 100 }` (types taken from the registered command, else inferred from the JS value), or
   * raw API options. */
  options?: Record<string, OptionValue> | JsonObject[];
  /** Wraps the options in this subcommand. */
  subcommand?: string;
}

export interface AutocompleteSpec extends SlashCommandSpec {
  /** The option the user is typing in; Discord sends its partial value as a string. */
  focused: { name: string; value: string };
}

export interface ButtonSpec extends InvokerSpec {
  customId: string;
  /** The message the button sits on. A message the bot posted through the stand-in is used as is (so `update`
   * edits it); otherwise a bot message carrying this one button is synthesised under this id. */
  messageId?: string;
}

export interface Invocation {
  guild: GuildState;
  channel: ChannelState;
  roleIds: string[];
  /** Gateway events that must precede the interaction so the client's caches know its role and channel ids. */
  preludes: { t: string; d: Json }[];
}

/** The DM channel between the bot and a user: a stable id per user, like Discord's. */
export function dmChannelId(userId: string): string {
  return `9${userId.padStart(18, '0')}`.slice(0, 19);
}

export function prepareInvocation(world: World, spec: InvokerSpec): Invocation {
  const guild = world.guild(spec.guildId);
  if (spec.dm === true) {
    // DMs carry no guild state: the guild is kept only so the shape stays one type; the payload omits it.
    const channel = { id: spec.channelId ?? dmChannelId(spec.userId), name: '', type: 1, guildId: '' };
    return { guild, channel, roleIds: [], preludes: [] };
  }
  const preludes: Invocation['preludes'] = [];
  const roleIds = [...(spec.roleIds ?? guild.members.get(spec.userId) ?? [])];
  for (const id of roleIds) {
    if (guild.roles.has(id)) continue;
    const role = world.addRole(guild, id);
    preludes.push({ t: 'GUILD_ROLE_CREATE', d: { guild_id: guild.id, role: roleJson(role) } });
  }
  let channel = spec.channelId !== undefined ? guild.channels.get(spec.channelId) : guild.channels.values().next().value;
  if (!channel) {
    channel = world.addChannel(guild, spec.channelId ?? nextSnowflake());
    preludes.push({ t: 'CHANNEL_CREATE', d: channelJson(channel) });
  }
  guild.members.set(spec.userId, roleIds);
  return { guild, channel, roleIds, preludes };
}

function interactionToken(): string {
  return `aW50ZXJhY3Rpb246${randomBytes(48).toString('base64url')}`;
}

export function baseInteraction(world: World, inv: Invocation, spec: InvokerSpec, type: number, data: JsonObject): JsonObject {
  const { guild, channel, roleIds } = inv;
  if (spec.dm === true) {
    const user = testUserJson(spec.userId);
    return {
      id: nextSnowflake(),
      application_id: world.opts.applicationId,
      type,
      data,
      channel: { id: channel.id, type: 1, last_message_id: null, flags: 0, recipients: [user] },
      channel_id: channel.id,
      user,
      token: interactionToken(),
      version: 1,
      app_permissions: DEFAULT_EVERYONE_PERMISSIONS,
      locale: spec.locale ?? 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': guild.id },
      context: 1,
      attachment_size_limit: 10_485_760,
    };
  }
  return {
    id: nextSnowflake(),
    application_id: world.opts.applicationId,
    type,
    data,
    guild_id: guild.id,
    guild: { id: guild.id, locale: 'en-US', features: [] },
    channel: channelJson(channel),
    channel_id: channel.id,
    member: memberJson(
      testUserJson(spec.userId),
      roleIds,
      guild.joinedAt,
      spec.permissions ?? world.memberPermissions(guild, roleIds),
    ),
    token: interactionToken(),
    version: 1,
    app_permissions: DEFAULT_EVERYONE_PERMISSIONS,
    locale: spec.locale ?? 'en-US',
    guild_locale: 'en-US',
    entitlements: [],
    authorizing_integration_owners: { '0': guild.id },
    context: 0,
    attachment_size_limit: 10_485_760,
  };
}

/** The registered command the user would be invoking: guild commands shadow global ones. */
function registered(world: World, name: string, guildId: string): JsonObject | null {
  const c =
    world.commands.find((x) => x.guildId === guildId && x.body.name === name) ??
    world.commands.find((x) => x.guildId === null && x.body.name === name);
  return c ? { ...c.body, id: c.id, ...(c.guildId !== null ? { guild_id: c.guildId } : {}) } : null;
}

function declaredOptions(command: JsonObject | null, subcommand: string | undefined): JsonObject[] {
  const top = command && Array.isArray(command.options) ? command.options.filter(isObject) : [];
  if (subcommand === undefined) return top;
  const sub = top.find((o) => o.name === subcommand);
  return sub && Array.isArray(sub.options) ? sub.options.filter(isObject) : [];
}

function inferType(v: OptionValue): number {
  if (typeof v === 'boolean') return 5;
  if (typeof v === 'number') return Number.isInteger(v) ? 4 : 10;
  return 3;
}

function toApiOptions(options: SlashCommandSpec['options'], declared: JsonObject[]): JsonObject[] {
  if (options === undefined) return [];
  if (Array.isArray(options)) return options;
  return Object.entries(options).map(([name, value]) => {
    const decl = declared.find((d) => d.name === name);
    return { name, type: typeof decl?.type === 'number' ? decl.type : inferType(value), value };
  });
}

export function commandData(world: World, inv: Invocation, spec: SlashCommandSpec, focused?: AutocompleteSpec['focused']): JsonObject {
  // In a DM only global commands exist.
  const command = registered(world, spec.name, spec.dm === true ? '' : inv.guild.id);
  const declared = declaredOptions(command, spec.subcommand);
  let options = toApiOptions(spec.options, declared);
  if (focused) {
    const decl = declared.find((d) => d.name === focused.name);
    options = [
      ...options.filter((o) => o.name !== focused.name),
      { name: focused.name, type: typeof decl?.type === 'number' ? decl.type : 3, value: focused.value, focused: true },
    ];
  }
  if (spec.subcommand !== undefined) options = [{ name: spec.subcommand, type: 1, options }];
  return {
    id: typeof command?.id === 'string' ? command.id : nextSnowflake(),
    name: spec.name,
    type: 1,
    ...(options.length > 0 ? { options } : {}),
    ...(typeof command?.guild_id === 'string' ? { guild_id: command.guild_id } : {}),
  };
}

/** The message a clicked button sits on; synthesised (and stored, so `update` can edit it) when unknown. */
export function componentMessage(world: World, inv: Invocation, spec: ButtonSpec): StoredMessage {
  const existing = spec.messageId !== undefined ? world.messages.get(spec.messageId) : undefined;
  if (existing && !existing.deleted) return existing;
  const now = Date.now();
  const m: StoredMessage = {
    id: spec.messageId ?? nextSnowflake(now),
    channelId: inv.channel.id,
    guildId: spec.dm === true ? null : inv.guild.id,
    authorId: world.opts.botUserId,
    content: '',
    embeds: [],
    components: [{ type: 1, components: [{ type: 2, style: 1, label: 'button', custom_id: spec.customId }] }],
    attachments: [],
    flags: 0,
    createdAt: now,
    editedAt: null,
    deleted: false,
    source: 'seed',
    interactionId: null,
    loading: false,
  };
  world.messages.set(m.id, m);
  return m;
}

export function buttonData(spec: ButtonSpec): JsonObject {
  return { custom_id: spec.customId, component_type: 2 };
}

export function messagePayload(world: World, m: StoredMessage): JsonObject {
  return messageJson(m, world);
}
