import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { isObject } from './http-io.js';
import { botUserJson, guildCreateJson } from './payloads.js';
import type { Json, JsonObject } from './types.js';
import type { World } from './world.js';

/** The Discord gateway (v10, JSON encoding, no transport compression), enough for discord.js to log in, stay up
 * and receive dispatches: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeat ACKs, RESUME with replay. */

interface Session {
  id: string;
  seq: number;
  /** Sent dispatches, for RESUME replay. */
  events: { s: number; t: string; d: Json }[];
  ws: WebSocket | null;
  /** Identify compression: every payload is its own zlib stream, sent as a binary frame. */
  compress: boolean;
}

const REPLAY_LIMIT = 1000;

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

export class Gateway {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sessions = new Map<string, Session>();
  private readonly sockets = new Set<WebSocket>();
  /** Most recent session that reached READY or RESUMED on a still-open socket. */
  private active: Session | null = null;
  heartbeats = 0;
  /** IDENTIFY payloads as received, token removed. */
  readonly identifies: JsonObject[] = [];
  readonly resumes: { sessionId: string; seq: number; accepted: boolean }[] = [];

  constructor(
    private readonly world: World,
    private readonly url: () => string,
  ) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const u = new URL(req.url ?? '/', 'ws://standin');
    if (u.pathname.replace(/\/+$/, '') !== '/gateway') {
      this.world.recordUnhandled('gateway', `upgrade ${u.pathname}`);
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      ws.on('close', () => this.sockets.delete(ws));
      // Parameters are checked after the upgrade so the client gets a gateway close code it can report.
      const v = u.searchParams.get('v');
      const encoding = u.searchParams.get('encoding');
      const compress = u.searchParams.get('compress');
      if (v !== '10') return this.refuse(ws, 4012, `Invalid API version ${String(v)}; the stand-in speaks v10`);
      if (encoding !== null && encoding !== 'json') return this.refuse(ws, 4002, `encoding=${encoding} unsupported; use json`);
      if (compress !== null) return this.refuse(ws, 4002, `compress=${compress} unsupported; the stand-in sends plain JSON`);
      this.onConnection(ws);
    });
  }

  private refuse(ws: WebSocket, code: number, reason: string): void {
    this.world.recordUnhandled('gateway', `closed ${code}: ${reason}`);
    ws.close(code, reason);
  }

  private onConnection(ws: WebSocket): void {
    let session: Session | null = null;
    this.send(ws, { op: 10, d: { heartbeat_interval: this.world.opts.heartbeatIntervalMs }, s: null, t: null }, false);
    ws.on('message', (data: RawData) => {
      let payload: Json;
      try {
        payload = JSON.parse(rawText(data)) as Json;
      } catch {
        return this.refuse(ws, 4002, 'Error while decoding payload');
      }
      if (!isObject(payload) || typeof payload.op !== 'number') return this.refuse(ws, 4002, 'payload without op');
      const d = isObject(payload.d) ? payload.d : {};
      switch (payload.op) {
        case 1:
          this.heartbeats += 1;
          this.send(ws, { op: 11, d: null, s: null, t: null }, session?.compress ?? false);
          return;
        case 2:
          if (session) return this.refuse(ws, 4005, 'Already authenticated');
          session = this.identify(ws, d);
          return;
        case 6:
          if (session) return this.refuse(ws, 4005, 'Already authenticated');
          session = this.resume(ws, d);
          return;
        case 3: // presence update
        case 4: // voice state update
          if (!session) return this.refuse(ws, 4003, 'Not authenticated');
          return;
        default:
          if (!session) return this.refuse(ws, 4003, 'Not authenticated');
          return this.refuse(ws, 4001, `Unknown opcode ${payload.op}`);
      }
    });
    ws.on('close', () => {
      if (session && session.ws === ws) session.ws = null;
      if (this.active?.ws === null) this.active = null;
    });
  }

  private identify(ws: WebSocket, d: JsonObject): Session | null {
    const { token, ...rest } = d;
    this.identifies.push(rest);
    if (token !== this.world.opts.token) {
      this.refuse(ws, 4004, 'Authentication failed');
      return null;
    }
    const session: Session = {
      id: randomBytes(16).toString('hex'),
      seq: 0,
      events: [],
      ws,
      compress: d.compress === true,
    };
    this.sessions.set(session.id, session);
    const o = this.world.opts;
    const shard = Array.isArray(d.shard) ? d.shard : [0, 1];
    this.emit(session, 'READY', {
      v: 10,
      user: botUserJson(o),
      user_settings: {},
      guilds: [...this.world.guilds.keys()].map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.url(),
      shard,
      application: { id: o.applicationId, flags: 0 },
      private_channels: [],
      relationships: [],
      presences: [],
      geo_ordered_rtc_regions: [],
      guild_join_requests: [],
      _trace: ['perpdesk-discord-stand-in'],
    });
    // discord.js holds `clientReady` until every guild listed as unavailable in READY arrives (or 15 s pass).
    for (const g of this.world.guilds.values()) this.emit(session, 'GUILD_CREATE', guildCreateJson(g, this.world));
    this.active = session;
    return session;
  }

  private resume(ws: WebSocket, d: JsonObject): Session | null {
    const sessionId = typeof d.session_id === 'string' ? d.session_id : '';
    const seq = typeof d.seq === 'number' ? d.seq : 0;
    const session = this.sessions.get(sessionId);
    const accepted = session !== undefined && d.token === this.world.opts.token;
    this.resumes.push({ sessionId, seq, accepted });
    if (!session || !accepted) {
      this.send(ws, { op: 9, d: false, s: null, t: null }, false);
      return null;
    }
    if (session.ws && session.ws !== ws) session.ws.close(4000, 'Session resumed elsewhere');
    session.ws = ws;
    for (const e of session.events) {
      if (e.s > seq) this.send(ws, { op: 0, t: e.t, s: e.s, d: e.d }, session.compress);
    }
    this.emit(session, 'RESUMED', { _trace: ['perpdesk-discord-stand-in'] });
    this.active = session;
    return session;
  }

  private emit(session: Session, t: string, d: Json): void {
    session.seq += 1;
    session.events.push({ s: session.seq, t, d });
    if (session.events.length > REPLAY_LIMIT) session.events.shift();
    if (session.ws) this.send(session.ws, { op: 0, t, s: session.seq, d }, session.compress);
  }

  private send(ws: WebSocket, payload: JsonObject, compress: boolean): void {
    const text = JSON.stringify(payload);
    ws.send(compress ? deflateSync(text) : text);
  }

  /** True once a client has identified (or resumed) and its socket is open. */
  isReady(): boolean {
    return this.active?.ws != null;
  }

  /** Sends a dispatch to the live session; without one the event would silently vanish, so that is an error. */
  dispatch(t: string, d: Json): void {
    const s = this.active;
    if (!s || !s.ws) throw new Error(`no gateway session is ready to receive ${t}; await client.login() first`);
    this.emit(s, t, d);
  }

  /** Op 7: asks the client to reconnect and RESUME, as Discord does during rolling restarts. */
  requestReconnect(): void {
    const ws = this.active?.ws;
    if (!ws) throw new Error('no gateway session to reconnect');
    this.send(ws, { op: 7, d: null, s: null, t: null }, this.active?.compress ?? false);
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
