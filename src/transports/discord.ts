import {
  ActionRowBuilder,
  ApplicationCommandOptionType,
  ApplicationIntegrationType,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  Events,
  GatewayIntentBits,
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  RESTEvents,
  type ApplicationCommandDataResolvable,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type GuildMember,
  type Interaction,
  type APIInteractionGuildMember,
  type JSONEncodable,
} from 'discord.js';
import type { CommandDef, OptionSpec } from '../../commands/define.js';
import type { Invocation } from '../../commands/context.js';
import { rateLimitedTotal } from '../metrics/registry.js';
import type { Reply, ButtonStyle as ReplyButtonStyle } from '../chat/reply.js';
import type { Logger } from '../log.js';
import { renderDiscordEmbed } from './render.js';
import { AcksFirst } from './acks-first.js';
import { DeliveryError, type Desk, type MessageRef, type Notifier } from './desk.js';
import type { NotifyOptions } from '../services/alerts/notifier.js';
import { describeDiscordError } from './discord-errors.js';

export interface DiscordOptions {
  desk: Desk;
  token: string;
  applicationId: string;
  guildId?: string;
  apiUrl: string;
  log: Logger;
  /** Reply within this long or defer first (Discord drops interactions not acknowledged within 3 s). */
  deferAfterMs?: number;
}

const OPTION_TYPE = {
  string: ApplicationCommandOptionType.String,
  integer: ApplicationCommandOptionType.Integer,
  number: ApplicationCommandOptionType.Number,
} as const;

const STYLE: Record<ReplyButtonStyle, ButtonStyle> = {
  primary: ButtonStyle.Primary,
  secondary: ButtonStyle.Secondary,
  success: ButtonStyle.Success,
  danger: ButtonStyle.Danger,
};

/**
 * Slash-command definitions from the registry (option types, choices, autocomplete). Server commands only (no DMs:
 * the desk belongs to a team's server), and admin commands hidden from members without Manage Server until a server
 * admin grants them in Integrations. That is the default view only: the role lists stay the source of truth.
 * Discord sets permissions per command, so `/harvester` (whose status is for everyone) stays visible.
 */
export function slashCommandData(commands: readonly CommandDef[]): ApplicationCommandDataResolvable[] {
  return commands.map((c) => ({
    name: c.name,
    description: c.description.slice(0, 100),
    contexts: [InteractionContextType.Guild],
    integrationTypes: [ApplicationIntegrationType.GuildInstall],
    defaultMemberPermissions: c.role === 'admin' ? PermissionFlagsBits.ManageGuild : null,
    options: [...c.options]
      .sort((a, b) => Number(Boolean(b.required)) - Number(Boolean(a.required)))
      .map((o: OptionSpec) => ({
        name: o.name,
        description: o.description.slice(0, 100),
        type: OPTION_TYPE[o.type],
        required: Boolean(o.required),
        ...(o.choices ? { choices: o.choices.slice(0, 25).map((v) => ({ name: v, value: v })) } : {}),
        ...(o.autocomplete ? { autocomplete: true } : {}),
        ...(o.type !== 'string' && o.min !== undefined ? { minValue: o.min } : {}),
        ...(o.type !== 'string' && o.max !== undefined ? { maxValue: o.max } : {}),
        ...(o.type === 'string' && o.maxLength ? { maxLength: o.maxLength } : {}),
      })),
  })) as ApplicationCommandDataResolvable[];
}

/**
 * Sent as it is: discord.js copies a plain embed object key by key into snake case (lodash, recursively) for every
 * message, the costliest step of answering a click; renderDiscordEmbed already uses the API's field names.
 */
function asIs<T>(data: T): JSONEncodable<T> {
  return { toJSON: () => data };
}

/** Reply → message payload: embed, buttons, image attachment. */
export function discordPayload(r: Reply) {
  const components = r.buttons?.length
    ? [
        new ActionRowBuilder<ButtonBuilder>().addComponents(
          r.buttons.slice(0, 5).map((b) => new ButtonBuilder().setCustomId(b.id).setLabel(b.label.slice(0, 80)).setStyle(STYLE[b.style])),
        ),
      ]
    : [];
  const files = r.image ? [new AttachmentBuilder(r.image.data, { name: r.image.filename, description: r.image.alt })] : [];
  return { embeds: [asIs(renderDiscordEmbed(r))], components, files };
}

function roleIdsOf(member: GuildMember | APIInteractionGuildMember | null): string[] {
  if (!member) return [];
  const roles = member.roles;
  if (Array.isArray(roles)) return roles;
  return [...roles.cache.keys()];
}

function invocationOf(ix: Interaction): Invocation {
  return {
    platform: 'discord',
    actor: { platform: 'discord', userId: ix.user.id, displayName: ix.user.username, roleIds: roleIdsOf(ix.member) },
    chatId: ix.channelId ?? 'dm',
    chatType: ix.guildId ? 'group' : 'private',
    ...(ix.guildId ? { guildId: ix.guildId } : {}),
  };
}

function deliveryError(e: unknown): DeliveryError {
  const status = (e as { status?: number }).status;
  const code = (e as { code?: number }).code;
  const msg = `discord: ${(e as Error).message}`;
  // 10003 unknown channel, 50001 missing access, 50013 missing permissions: retrying cannot help.
  if (status === 403 || status === 404 || code === 10003 || code === 50001 || code === 50013) return new DeliveryError(msg, undefined, true);
  return new DeliveryError(msg);
}

/**
 * Discord transport: registers slash commands at start-up, answers interactions through the Desk, and delivers
 * alerts to channels (Notifier). discord.js's REST layer queues on 429 by itself.
 */
export class DiscordTransport implements Notifier {
  readonly platform = 'discord' as const;
  readonly client: Client;
  readonly #deferAfterMs: number;
  /** Follow-ups and edits of other messages wait while interactions still wait for their first answer. */
  readonly #acks = new AcksFirst();

  constructor(private readonly opts: DiscordOptions) {
    this.#deferAfterMs = opts.deferAfterMs ?? 1200;
    this.client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: opts.apiUrl } });
    this.client.on(Events.InteractionCreate, (ix) => {
      // Never the error itself: it carries the interaction token (in its URL) and the reply body. Not under `err`,
      // whose serializer would add a stack and type.
      void this.#onInteraction(ix).catch((err: unknown) =>
        this.opts.log.error({ error: describeDiscordError(err, ['token' in ix ? ix.token : null, opts.token]), kind: ix.type }, 'discord interaction failed'),
      );
    });
    this.client.on(Events.Error, (err) => this.opts.log.warn({ error: describeDiscordError(err, [opts.token]) }, 'discord client error'));
    // discord.js waits a 429 out by itself; the count is for perpdesk_rate_limited_total.
    this.client.rest.on(RESTEvents.Response, (_req, res) => {
      if (res.status === 429) rateLimitedTotal.inc({ platform: 'discord' });
    });
  }

  async start(): Promise<void> {
    const ready = new Promise<void>((resolve) => this.client.once(Events.ClientReady, () => resolve()));
    await this.client.login(this.opts.token);
    await ready;
    const data = slashCommandData(this.opts.desk.commands);
    if (this.opts.guildId) await this.client.application!.commands.set(data, this.opts.guildId);
    else await this.client.application!.commands.set(data);
    this.opts.log.info({ commands: data.length, guild: this.opts.guildId ?? 'global' }, 'discord commands registered');
  }

  /** The server a channel belongs to, from the gateway's cache (undefined for DMs and channels not seen). */
  guildOf(channelId: string): string | undefined {
    const ch = this.client.channels.cache.get(channelId);
    return ch && 'guildId' in ch && ch.guildId ? ch.guildId : undefined;
  }

  async #onInteraction(ix: Interaction): Promise<void> {
    const answered = this.#acks.arrived();
    try {
      if (ix.isAutocomplete()) return await this.#autocomplete(ix);
      if (ix.isChatInputCommand()) return await this.#command(ix, answered);
      if (ix.isButton()) return await this.#button(ix, answered);
    } finally {
      answered();
    }
  }

  async #autocomplete(ix: AutocompleteInteraction): Promise<void> {
    const focused = ix.options.getFocused(true);
    const list = focused.name === 'symbol' ? await this.opts.desk.suggestSymbols(String(focused.value)) : [];
    await ix.respond(list.slice(0, 25).map((s) => ({ name: s, value: s })));
  }

  /** `answered` is called once the interaction has its first callback (reply or deferral). */
  async #command(ix: ChatInputCommandInteraction, answered: () => void): Promise<void> {
    const def = this.opts.desk.commands.find((c) => c.name === ix.commandName);
    const args: Record<string, unknown> = {};
    for (const o of ix.options.data) args[o.name] = o.value;
    const inv = invocationOf(ix);
    // A stranger is answered at once and privately, before a slow command would post a public "thinking…".
    const refused = await this.opts.desk.accessRefusal?.(inv, `/${ix.commandName}`);
    if (refused) {
      await ix.reply({ ...discordPayload(refused), flags: MessageFlags.Ephemeral });
      return;
    }
    const work = this.opts.desk.command(ix.commandName, args, inv);
    let deferred = false;
    if (def?.slow) {
      await ix.deferReply();
      deferred = true;
    } else {
      const first = await Promise.race([work.then(() => 'done' as const), sleep(this.#deferAfterMs).then(() => 'slow' as const)]);
      if (first === 'slow') {
        await ix.deferReply();
        deferred = true;
      }
    }
    if (deferred) answered();
    const reply = await work;
    const payload = discordPayload(reply);
    let messageId: string;
    if (deferred) {
      // A deferred reply is public; a private answer goes as an ephemeral follow-up after removing the placeholder.
      if (reply.ephemeral) {
        await ix.deleteReply().catch(() => {});
        const m = await ix.followUp({ ...payload, flags: MessageFlags.Ephemeral });
        messageId = m.id;
      } else {
        const m = await ix.editReply(payload);
        messageId = m.id;
      }
    } else if (reply.track) {
      const res = await ix.reply({ ...payload, ...(reply.ephemeral ? { flags: MessageFlags.Ephemeral } : {}), withResponse: true });
      messageId = res.resource?.message?.id ?? '';
    } else {
      // Only a tracked reply needs its message id: the others skip fetching and building the message object.
      await ix.reply({ ...payload, ...(reply.ephemeral ? { flags: MessageFlags.Ephemeral } : {}) });
      messageId = '';
    }
    answered();
    if (reply.track && messageId) {
      await this.opts.desk.messageSent(reply.track, { platform: 'discord', chatId: ix.channelId, messageId });
    }
  }

  /** `answered` is called once the click has its first callback (the answer, or a deferral). */
  async #button(ix: ButtonInteraction, answered: () => void): Promise<void> {
    // A deferral acknowledges the click without saying anything yet; the answer then edits the message. Every click of
    // a crowd on one decision (many Approve clicks at once) is acknowledged so at once, as is one that takes long.
    let deferral: Promise<void> | undefined;
    const defer = (): Promise<void> => (deferral ??= ix.deferUpdate().then(() => answered()));
    const work = this.opts.desk.button(ix.customId, invocationOf(ix), { crowded: () => void defer().catch(() => {}) });
    const first = await Promise.race([work.then(() => 'done' as const), sleep(this.#deferAfterMs).then(() => 'slow' as const)]);
    if (first === 'slow') await defer();
    const r = await work;
    const deferred = deferral !== undefined;
    await deferral;
    // What follows the answer (edits of the preview's copies in other chats) starts once the click's own callback is
    // through and no other interaction still waits for its first answer, alongside the clicker's private note; it
    // runs even when answering failed.
    let after: Promise<void> | undefined;
    const afterAnswer = (): Promise<void> => (after ??= r.afterAnswer?.() ?? Promise.resolve());
    try {
      if (r.update) {
        const payload = discordPayload(r.update);
        if (deferred) await ix.editReply(payload);
        else await ix.update(payload);
        answered();
        await this.#acks.settled();
        void afterAnswer();
        if (r.notice) await ix.followUp({ content: r.notice, flags: MessageFlags.Ephemeral });
      } else if (deferred) {
        await ix.followUp({ content: r.notice ?? 'Done.', flags: MessageFlags.Ephemeral });
      } else {
        await ix.reply({ content: r.notice ?? 'Done.', flags: MessageFlags.Ephemeral });
      }
    } finally {
      await afterAnswer();
    }
  }

  async send(chatId: string, reply: Reply, opts: NotifyOptions = {}): Promise<MessageRef> {
    try {
      const channel = await this.client.channels.fetch(chatId);
      if (!channel || !channel.isSendable()) throw new DeliveryError(`discord: channel ${chatId} cannot receive messages`, undefined, true);
      // A silent alert is Discord's "@silent" message: delivered and counted as unread, without push or sound.
      const m = await channel.send({ ...discordPayload(reply), ...(opts.silent ? { flags: MessageFlags.SuppressNotifications } : {}) });
      return { platform: 'discord', chatId, messageId: m.id };
    } catch (e) {
      throw e instanceof DeliveryError ? e : deliveryError(e);
    }
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    try {
      const channel = await this.client.channels.fetch(ref.chatId);
      if (!channel || !channel.isTextBased()) throw new DeliveryError(`discord: channel ${ref.chatId} not found`, undefined, true);
      await channel.messages.edit(ref.messageId, discordPayload(reply));
    } catch (e) {
      throw e instanceof DeliveryError ? e : deliveryError(e);
    }
  }

  async close(): Promise<void> {
    await this.client.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
