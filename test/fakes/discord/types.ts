/** Public types of the Discord stand-in. Raw Discord payloads stay loose JSON on purpose: the stand-in records what
 * the client sent, byte for byte, so a test sees exactly what would have reached Discord. */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface ChannelSpec {
  id: string;
  name?: string;
  /** Discord channel type; 0 (guild text) unless told. */
  type?: number;
}

export interface RoleSpec {
  id: string;
  name?: string;
  /** Permission bitfield as a decimal string, as Discord sends it. */
  permissions?: string;
}

export interface GuildSpec {
  id: string;
  name?: string;
  channels?: ChannelSpec[];
  roles?: RoleSpec[];
}

export interface RateLimitSpec {
  /** Messages accepted per window per channel (Discord: 5). */
  limit: number;
  /** Window length in ms (Discord: 5000). */
  windowMs: number;
}

export interface StandInOptions {
  applicationId?: string;
  /** Defaults to applicationId, as for every bot created since 2021. */
  botUserId?: string;
  botUsername?: string;
  /** The bot token the client must present (REST `Authorization: Bot …` and gateway IDENTIFY). */
  token?: string;
  /** Shorthand for one guild with one text channel; merged with `guilds`. */
  guildId?: string;
  guilds?: GuildSpec[];
  /** POST /channels/{id}/messages limit; default 5 per 5000 ms per channel. */
  channelMessageRateLimit?: RateLimitSpec;
  /** Interactions acknowledged later than this are answered 10062 (Discord: 3000 ms). */
  ackDeadlineMs?: number;
  /** Sent in HELLO; discord.js heartbeats after a random fraction of it, then every interval. */
  heartbeatIntervalMs?: number;
}

export interface AttachmentRecord {
  id: string;
  filename: string;
  /** Bytes actually received in the multipart body. */
  size: number;
  contentType: string | null;
  description: string | null;
}

/** A message as the stand-in holds it after every create/edit was applied. */
export interface StoredMessage {
  id: string;
  channelId: string;
  guildId: string | null;
  authorId: string;
  content: string;
  embeds: JsonObject[];
  components: JsonObject[];
  attachments: AttachmentRecord[];
  flags: number;
  createdAt: number;
  editedAt: number | null;
  deleted: boolean;
  /** `channel`: POST /channels/{id}/messages; `interaction`: an interaction reply; `followup`: webhook follow-up;
   * `seed`: synthesised by the stand-in (e.g. the message a button sits on). */
  source: 'channel' | 'interaction' | 'followup' | 'seed';
  interactionId: string | null;
  /** True while an interaction reply is deferred (type 5) and not yet edited. */
  loading: boolean;
}

export interface MessageEditRecord {
  channelId: string;
  messageId: string;
  /** Which wire call made the edit. */
  via: 'channel' | 'webhook' | 'interaction-callback';
  body: JsonObject;
  attachments: AttachmentRecord[];
  at: number;
}

export interface ViolationRecord {
  /** Route id, e.g. `POST /channels/:channel/messages`. */
  route: string;
  channelId: string | null;
  at: number;
  retryAfterSeconds: number;
  /** True when the 429 came from `forceRateLimit`, not from exceeding the window. */
  forced: boolean;
}

export interface AcceptedMessageRecord {
  channelId: string;
  messageId: string;
  at: number;
}

export interface UnhandledRecord {
  kind: 'rest' | 'gateway';
  /** REST: `METHOD /path?query`; gateway: `op N` or a close reason. */
  what: string;
  at: number;
}

export interface RegisteredCommand {
  id: string;
  applicationId: string;
  guildId: string | null;
  /** The command exactly as the client sent it. */
  body: JsonObject;
}

/** One thing the client did in answer to an interaction, in arrival order. */
export interface InteractionResponseRecord {
  kind: 'callback' | 'edit-original' | 'delete-original' | 'followup' | 'edit-followup' | 'delete-followup';
  /** Interaction callback type (4 reply, 5 deferred, 6 deferred update, 7 update, 8 autocomplete, 9 modal). */
  callbackType: number | null;
  /** The parsed JSON body (for multipart: payload_json). */
  body: JsonObject | null;
  attachments: AttachmentRecord[];
  at: number;
  /** ms from the INTERACTION_CREATE dispatch to this response. */
  latencyMs: number;
  /** HTTP status the stand-in answered. */
  status: number;
  /** Set when the stand-in refused it: `late` (after the ack deadline), `already-acknowledged`, `invalid`, `unknown-message`. */
  rejected: 'late' | 'already-acknowledged' | 'invalid' | 'not-acknowledged' | 'unknown-message' | null;
}

/** What an interaction ended up showing: its reply, or for a component update the message it sits on. */
export interface FinalMessage {
  id: string;
  channelId: string;
  content: string;
  embeds: JsonObject[];
  components: JsonObject[];
  attachments: AttachmentRecord[];
  flags: number;
  ephemeral: boolean;
}

export interface AutocompleteChoice {
  name: string;
  value: string | number;
}
