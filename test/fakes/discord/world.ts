import { nextSnowflake } from './snowflake.js';
import type {
  AcceptedMessageRecord,
  GuildSpec,
  MessageEditRecord,
  RateLimitSpec,
  RegisteredCommand,
  StandInOptions,
  StoredMessage,
  UnhandledRecord,
  ViolationRecord,
} from './types.js';

/** What a fresh member may do: view, send, embed, attach, read history, react, use commands. */
export const DEFAULT_EVERYONE_PERMISSIONS = (
  (1n << 6n) | (1n << 10n) | (1n << 11n) | (1n << 14n) | (1n << 15n) | (1n << 16n) | (1n << 31n)
).toString();

export interface ChannelState {
  id: string;
  name: string;
  type: number;
  guildId: string;
}

export interface RoleState {
  id: string;
  name: string;
  permissions: string;
  position: number;
}

export interface GuildState {
  id: string;
  name: string;
  joinedAt: string;
  channels: Map<string, ChannelState>;
  roles: Map<string, RoleState>;
  /** Users seen in dispatched interactions: user id -> role ids. */
  members: Map<string, string[]>;
}

export interface ResolvedOptions {
  applicationId: string;
  botUserId: string;
  botUsername: string;
  token: string;
  guilds: GuildSpec[];
  channelMessageRateLimit: RateLimitSpec;
  ackDeadlineMs: number;
  heartbeatIntervalMs: number;
}

export function resolveOptions(o: StandInOptions): ResolvedOptions {
  const applicationId = o.applicationId ?? nextSnowflake();
  const guilds = [...(o.guilds ?? [])];
  if (o.guildId !== undefined && !guilds.some((g) => g.id === o.guildId)) {
    guilds.unshift({ id: o.guildId });
  }
  if (guilds.length === 0) guilds.push({ id: nextSnowflake() });
  const rl = o.channelMessageRateLimit ?? { limit: 5, windowMs: 5000 };
  if (!(rl.limit >= 1) || !(rl.windowMs > 0)) {
    throw new Error(`channelMessageRateLimit needs limit >= 1 and windowMs > 0, got ${JSON.stringify(rl)}`);
  }
  return {
    applicationId,
    botUserId: o.botUserId ?? applicationId,
    botUsername: o.botUsername ?? 'perpdesk-standin-bot',
    token: o.token ?? 'standin-token',
    guilds,
    channelMessageRateLimit: rl,
    ackDeadlineMs: o.ackDeadlineMs ?? 3000,
    heartbeatIntervalMs: o.heartbeatIntervalMs ?? 41_250,
  };
}

/** Everything the stand-in knows and has recorded; REST, gateway and the driver all read and write it. */
export class World {
  readonly guilds = new Map<string, GuildState>();
  readonly channels = new Map<string, ChannelState>();
  readonly messages = new Map<string, StoredMessage>();
  readonly edits: MessageEditRecord[] = [];
  readonly accepted: AcceptedMessageRecord[] = [];
  readonly violations: ViolationRecord[] = [];
  readonly unhandled: UnhandledRecord[] = [];
  readonly commands: RegisteredCommand[] = [];

  constructor(readonly opts: ResolvedOptions) {
    const joinedAt = new Date().toISOString();
    for (const spec of opts.guilds) {
      const guild: GuildState = {
        id: spec.id,
        name: spec.name ?? `standin-guild-${spec.id}`,
        joinedAt,
        channels: new Map(),
        roles: new Map(),
        members: new Map(),
      };
      // @everyone shares the guild's id, as on Discord.
      guild.roles.set(spec.id, { id: spec.id, name: '@everyone', permissions: DEFAULT_EVERYONE_PERMISSIONS, position: 0 });
      for (const r of spec.roles ?? []) this.addRole(guild, r.id, r.name, r.permissions);
      const channels = spec.channels ?? [{ id: nextSnowflake(), name: 'general' }];
      for (const c of channels) this.addChannel(guild, c.id, c.name, c.type);
      this.guilds.set(guild.id, guild);
    }
  }

  addRole(guild: GuildState, id: string, name?: string, permissions?: string): RoleState {
    const role: RoleState = {
      id,
      name: name ?? `role-${id}`,
      permissions: permissions ?? '0',
      position: guild.roles.size,
    };
    guild.roles.set(id, role);
    return role;
  }

  addChannel(guild: GuildState, id: string, name?: string, type?: number): ChannelState {
    const channel: ChannelState = { id, name: name ?? `channel-${id}`, type: type ?? 0, guildId: guild.id };
    guild.channels.set(id, channel);
    this.channels.set(id, channel);
    return channel;
  }

  defaultGuild(): GuildState {
    const first = this.guilds.values().next();
    if (first.done === true) throw new Error('stand-in has no guild');
    return first.value;
  }

  guild(id: string | undefined): GuildState {
    if (id === undefined) return this.defaultGuild();
    const g = this.guilds.get(id);
    if (!g) throw new Error(`stand-in knows no guild ${id}; configure it in startDiscordStandIn({ guilds })`);
    return g;
  }

  /** Member permissions the way Discord computes them without channel overwrites: OR of @everyone and the roles. */
  memberPermissions(guild: GuildState, roleIds: readonly string[]): string {
    let bits = 0n;
    for (const id of [guild.id, ...roleIds]) bits |= BigInt(guild.roles.get(id)?.permissions ?? '0');
    return bits.toString();
  }

  recordUnhandled(kind: UnhandledRecord['kind'], what: string): void {
    this.unhandled.push({ kind, what, at: Date.now() });
  }
}
