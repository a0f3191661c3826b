import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gateway } from './gateway.js';
import { BodyError, discordError, parseBody, readBody, sendResult, type RestResult } from './http-io.js';
import { StandInInteraction, type InteractionKind } from './interaction.js';
import {
  baseInteraction,
  buttonData,
  commandData,
  componentMessage,
  messagePayload,
  prepareInvocation,
  type AutocompleteSpec,
  type ButtonSpec,
  type Invocation,
  type SlashCommandSpec,
} from './interaction-payloads.js';
import { SlidingWindowLimiter, ForcedLimits, tooManyRequests } from './rate-limit.js';
import { InteractionRegistry, interactionRoutes } from './rest-interactions.js';
import { resourceRoutes } from './rest-resources.js';
import { matchRoute, routeId, type Route } from './router.js';
import type {
  AcceptedMessageRecord,
  JsonObject,
  MessageEditRecord,
  RegisteredCommand,
  StandInOptions,
  StoredMessage,
  UnhandledRecord,
  ViolationRecord,
} from './types.js';
import { resolveOptions, World } from './world.js';

const API_PREFIX = '/api/v10';

/** A local Discord (REST v10 + gateway) for driving the real discord.js client; see README.md. */
export class DiscordStandIn {
  private readonly world: World;
  private readonly gateway: Gateway;
  private readonly registry = new InteractionRegistry();
  private readonly forced = new ForcedLimits();
  private readonly routes: Route[];
  private server: Server | null = null;
  private port = 0;

  constructor(options: StandInOptions = {}) {
    this.world = new World(resolveOptions(options));
    this.gateway = new Gateway(this.world, () => this.gatewayUrl);
    const limiter = new SlidingWindowLimiter(this.world.opts.channelMessageRateLimit);
    this.routes = [
      ...interactionRoutes(this.world, this.registry),
      ...resourceRoutes(this.world, limiter, () => this.gatewayUrl),
    ];
  }

  /** Pass as `new Client({ rest: { api: discord.url } })`; requests then arrive at `/api/v10/...`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }
  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}/gateway`;
  }
  get applicationId(): string {
    return this.world.opts.applicationId;
  }
  get botUserId(): string {
    return this.world.opts.botUserId;
  }
  get token(): string {
    return this.world.opts.token;
  }
  /** The first configured guild. */
  get guildId(): string {
    return this.world.defaultGuild().id;
  }
  /** The first channel of the first guild: where interactions happen unless told otherwise. */
  get channelId(): string {
    const c = this.world.defaultGuild().channels.values().next();
    if (c.done === true) throw new Error('the default guild has no channel');
    return c.value.id;
  }

  async listen(): Promise<this> {
    const server = createServer((req, res) => void this.onRequest(req, res));
    server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => this.gateway.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://standin');
    const method = req.method ?? 'GET';
    const what = `${method} ${u.pathname}${u.search}`;
    let result: RestResult;
    try {
      result = await this.route(req, u, method, what);
    } catch (e) {
      // A crash here is a stand-in bug; surface it through unhandled() rather than a hung client.
      this.world.recordUnhandled('rest', `${what} (stand-in error: ${e instanceof Error ? e.message : String(e)})`);
      result = discordError(500, 0, '500: Internal Server Error');
    }
    sendResult(res, result);
  }

  private async route(req: IncomingMessage, u: URL, method: string, what: string): Promise<RestResult> {
    const raw = await readBody(req);
    const notFound = (): RestResult => {
      this.world.recordUnhandled('rest', what);
      return discordError(404, 0, '404: Not Found');
    };
    if (!u.pathname.startsWith(`${API_PREFIX}/`)) return notFound();
    let segments: string[];
    try {
      segments = u.pathname.slice(API_PREFIX.length).split('/').filter((s) => s !== '').map(decodeURIComponent);
    } catch {
      return notFound();
    }
    const match = matchRoute(this.routes, method, segments);
    if (!match) return notFound();
    const { route, params } = match;
    if (route.auth && req.headers.authorization !== `Bot ${this.world.opts.token}`) {
      return discordError(401, 0, '401: Unauthorized');
    }
    const id = routeId(route);
    const forcedMs = this.forced.take(id);
    if (forcedMs !== null) {
      const r = tooManyRequests(`standin-forced-${id}`, 1, forcedMs);
      this.world.violations.push({ route: id, channelId: params.channel ?? null, at: Date.now(), retryAfterSeconds: r.body.retry_after, forced: true });
      return r;
    }
    let body;
    try {
      body = await parseBody(raw, req.headers['content-type']);
    } catch (e) {
      if (e instanceof BodyError) return discordError(400, 50109, `The request body contains invalid JSON. (${e.message})`);
      throw e;
    }
    return route.handle({ params, query: u.searchParams, body, what });
  }

  // ---- driving the client ----------------------------------------------------------------------------------------

  /** A user runs `/name`; returns at once with a handle whose promises resolve as the client answers. */
  dispatchSlashCommand(spec: SlashCommandSpec): StandInInteraction {
    const inv = prepareInvocation(this.world, spec);
    return this.dispatch('command', inv, baseInteraction(this.world, inv, spec, 2, commandData(this.world, inv, spec)), null);
  }

  /** A user types into an option with autocomplete; answer with `interaction.respond(choices)`. */
  dispatchAutocomplete(spec: AutocompleteSpec): StandInInteraction {
    const inv = prepareInvocation(this.world, spec);
    const data = commandData(this.world, inv, spec, spec.focused);
    return this.dispatch('autocomplete', inv, baseInteraction(this.world, inv, spec, 4, data), null);
  }

  /** A user clicks a button on a message (see ButtonSpec.messageId). */
  dispatchButton(spec: ButtonSpec): StandInInteraction {
    const inv = prepareInvocation(this.world, { ...spec, channelId: spec.channelId ?? this.messageChannel(spec.messageId) });
    const m = componentMessage(this.world, inv, spec);
    const payload = { ...baseInteraction(this.world, inv, spec, 3, buttonData(spec)), message: messagePayload(this.world, m) };
    return this.dispatch('button', inv, payload, m.id);
  }

  private messageChannel(messageId: string | undefined): string | undefined {
    return messageId !== undefined ? this.world.messages.get(messageId)?.channelId : undefined;
  }

  private dispatch(kind: InteractionKind, inv: Invocation, payload: JsonObject, componentMessageId: string | null): StandInInteraction {
    if (!this.gateway.isReady()) throw new Error(`cannot dispatch a ${kind} interaction: no gateway session is ready; await client.login() first`);
    for (const p of inv.preludes) this.gateway.dispatch(p.t, p.d);
    const ix = new StandInInteraction(
      String(payload.id),
      String(payload.token),
      kind,
      payload,
      Date.now(),
      componentMessageId,
      (id) => this.world.messages.get(id),
    );
    this.registry.add(ix);
    this.gateway.dispatch('INTERACTION_CREATE', payload);
    return ix;
  }

  /** Sends any gateway dispatch (e.g. GUILD_MEMBER_UPDATE) to the connected client. */
  dispatchEvent(t: string, d: JsonObject): void {
    this.gateway.dispatch(t, d);
  }

  /** Op 7 Reconnect: the client should come back and RESUME; see `resumes()`. */
  requestReconnect(): void {
    this.gateway.requestReconnect();
  }

  /** The next `count` requests on `route` (e.g. `POST /channels/:channel/messages`) are answered 429. */
  forceRateLimit(route: string, count = 1, retryAfterMs = 250): void {
    if (!this.routes.some((r) => routeId(r) === route)) {
      throw new Error(`forceRateLimit: unknown route ${JSON.stringify(route)}; known: ${this.routes.map(routeId).join(', ')}`);
    }
    this.forced.add(route, count, retryAfterMs);
  }

  // ---- what happened -----------------------------------------------------------------------------------------------

  interactions(): StandInInteraction[] {
    return this.registry.all();
  }
  /** Interactions whose first callback came after the ack deadline (and was refused with 10062). */
  lateInteractions(): StandInInteraction[] {
    return this.registry.all().filter((ix) => ix.late);
  }
  /** Guild commands of `guildId`, or global commands when omitted; as last written by PUT/POST. */
  registeredCommands(guildId?: string): RegisteredCommand[] {
    return this.world.commands.filter((c) => c.guildId === (guildId ?? null));
  }
  /** Messages the bot posted with POST /channels/{id}/messages (not interaction replies), oldest first, with every
   * later edit applied; deleted ones stay, flagged. */
  channelMessages(channelId?: string): StoredMessage[] {
    return [...this.world.messages.values()].filter(
      (m) => m.source === 'channel' && (channelId === undefined || m.channelId === channelId),
    );
  }
  /** Any message the stand-in holds (channel posts, interaction replies, follow-ups, synthesised button hosts). */
  message(id: string): StoredMessage | undefined {
    return this.world.messages.get(id);
  }
  messageEdits(channelId?: string): MessageEditRecord[] {
    return this.world.edits.filter((e) => channelId === undefined || e.channelId === channelId);
  }
  /** Every POST /channels/{id}/messages that was accepted, with its arrival time: the delivery rate. */
  acceptedMessages(channelId?: string): AcceptedMessageRecord[] {
    return this.world.accepted.filter((a) => channelId === undefined || a.channelId === channelId);
  }
  /** Every request answered 429 (the client exceeded the limit, or a forced limit fired). */
  violations(channelId?: string): ViolationRecord[] {
    return this.world.violations.filter((v) => channelId === undefined || v.channelId === channelId);
  }
  /** Requests and gateway traffic the stand-in did not understand; a healthy run leaves this empty. */
  unhandled(): UnhandledRecord[] {
    return [...this.world.unhandled];
  }
  /** IDENTIFY payloads received (token removed): intents, properties, shard. */
  identifies(): JsonObject[] {
    return [...this.gateway.identifies];
  }
  resumes(): { sessionId: string; seq: number; accepted: boolean }[] {
    return [...this.gateway.resumes];
  }
  heartbeats(): number {
    return this.gateway.heartbeats;
  }

  async close(): Promise<void> {
    await this.gateway.close();
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export async function startDiscordStandIn(options: StandInOptions = {}): Promise<DiscordStandIn> {
  return new DiscordStandIn(options).listen();
}
