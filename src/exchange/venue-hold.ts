import { Redis } from 'ioredis';
import type { Logger } from '../log.js';

/**
 * A venue's `Retry-After` holds the client, not only the call that got it: until it passes, no request of this
 * process goes to that venue — reads, order placement, everything. One hold per venue (base URL) per process, so
 * every client of the venue in the process shares it; with `shareThroughRedis` every PerpDesk process on the same
 * Redis learns of it within a publish (workers scaled out call the same venue under the same key).
 */
export class VenueHold {
  #until = 0;
  #publish: ((ms: number) => void) | undefined;
  #sharing: { users: number; closed: Promise<() => Promise<void>> } | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** The venue said "retry after `ms`": nothing goes to it before then (a longer hold already known stays). */
  hold(ms: number): void {
    if (!(ms > 0)) return;
    const until = this.now() + ms;
    if (until <= this.#until) return;
    this.#until = until;
    this.#publish?.(ms);
  }

  /** Milliseconds until requests may go to the venue again (0 = now). */
  remainingMs(): number {
    return Math.max(0, this.#until - this.now());
  }

  /** A hold another process reported, `ms` from now. */
  learn(ms: number): void {
    if (ms > 0) this.#until = Math.max(this.#until, this.now() + ms);
  }

  /**
   * Shares this hold with every process on the same Redis under `key`: a hold is written there (as a key that
   * expires with it, so a process that starts during it learns it too) and published; holds of the others are
   * learned as they are published. Best effort: without Redis the hold still covers this process. Returns `close`;
   * several clients of one venue may each share it (the connections close with the last of them).
   */
  async shareThroughRedis(redisUrl: string, key: string, log?: Logger): Promise<() => Promise<void>> {
    this.#sharing ??= { users: 0, closed: this.#share(redisUrl, key, log) };
    const sharing = this.#sharing;
    sharing.users += 1;
    await sharing.closed;
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      if (--sharing.users > 0) return;
      if (this.#sharing === sharing) this.#sharing = undefined;
      await (await sharing.closed)();
    };
  }

  async #share(redisUrl: string, key: string, log?: Logger): Promise<() => Promise<void>> {
    const opts = { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectionName: 'perpdesk:venue-hold' };
    const pub = new Redis(redisUrl, opts);
    const sub = new Redis(redisUrl, opts);
    for (const r of [pub, sub]) r.on('error', (err: Error) => log?.debug({ err: { message: err.message } }, 'venue hold redis error'));
    const close = async () => {
      this.#publish = undefined;
      pub.disconnect();
      sub.disconnect();
    };
    try {
      await Promise.all([pub.connect(), sub.connect()]);
      sub.on('message', (_channel: string, message: string) => this.learn(Number(message)));
      await sub.subscribe(key);
      this.learn(await pub.pttl(key));
    } catch (err) {
      log?.warn({ err: { message: (err as Error).message } }, 'venue hold not shared through Redis; it covers this process only');
      await close();
      return close;
    }
    this.#publish = (ms) => {
      pub.eval(SHARE, 1, key, Math.ceil(ms)).catch((err: Error) => log?.debug({ err: { message: err.message } }, 'venue hold not published'));
    };
    return close;
  }
}

// KEYS: 1 the hold (key and channel). ARGV: ms. Keeps the longer of two holds; tells the other processes.
const SHARE = `
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
`;

const holds = new Map<string, VenueHold>();

/** The process-wide hold of the venue at `baseUrl` (every client of it in this process shares one). */
export function venueHoldFor(baseUrl: string): VenueHold {
  const k = baseUrl.replace(/\/+$/, '');
  let h = holds.get(k);
  if (!h) {
    h = new VenueHold();
    holds.set(k, h);
  }
  return h;
}

/** The Redis key (and channel) under which processes share the hold of the venue at `baseUrl`. */
export function venueHoldKey(baseUrl: string): string {
  const u = new URL(baseUrl);
  return `perpdesk:venue-hold:${u.host}${u.pathname.replace(/\/+$/, '')}`;
}
