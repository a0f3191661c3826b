/**
 * Leader lease in Redis: of several `npm start` replicas on one Redis, exactly one holds the chat transports (a
 * second Telegram poller gets 409, a second Discord session answers interactions twice). The lease is a key with a
 * TTL, renewed while the holder lives; a killed holder frees it within one TTL.
 *
 * Fencing: `holds()` is a local, monotonic-clock check ("my last successful renewal started less than TTL − margin
 * ago"), so a process that was paused (GC, SIGSTOP, a VM freeze) knows it may have lost the lease before it sends
 * anything, without asking Redis first. Every epoch is numbered so logs show which reign a message came from.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';

// Acquire when free, renew when ours; returns the epoch held, or -1 when another process holds it.
const ACQUIRE_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2]) or '0')
elseif not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return redis.call('INCR', KEYS[2])
end
return -1`;

// Compare-and-delete: a holder that lost the lease must never delete its successor's key.
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface LeaderLeaseOptions {
  redis: Redis;
  /** Key of the lease; `<key>:epoch` counts reigns. */
  key: string;
  /** This process, unique per start (host, pid, random). */
  id: string;
  /** How long a lease lives without renewal. Default 10 s: a killed leader is replaced within ~12 s. */
  ttlMs?: number;
  /** How often the holder renews and a follower retries. Default ttl / 5. */
  renewMs?: number;
  /** Clock-drift and pause safety: `holds()` turns false this long before the key would expire. Default 1 s. */
  marginMs?: number;
  log: Logger;
  /** Monotonic milliseconds (tests may drive it). */
  monotonic?: () => number;
}

export interface LeaderLeaseEvents {
  acquired: [epoch: number];
  lost: [reason: string];
}

export class LeaderLease extends EventEmitter<LeaderLeaseEvents> {
  readonly #o: Required<Omit<LeaderLeaseOptions, 'redis' | 'log' | 'key' | 'id'>> & LeaderLeaseOptions;
  #validUntil = 0;
  #epoch = 0;
  #timer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #closed = false;
  #tick: Promise<void> = Promise.resolve();

  constructor(o: LeaderLeaseOptions) {
    super();
    const ttlMs = o.ttlMs ?? 10_000;
    this.#o = { ...o, ttlMs, renewMs: o.renewMs ?? Math.max(50, Math.floor(ttlMs / 5)), marginMs: o.marginMs ?? Math.min(1000, ttlMs / 5), monotonic: o.monotonic ?? (() => performance.now()) };
  }

  /** True while this process may act as leader: its last renewal is recent enough that no one else can hold it. */
  holds(): boolean {
    return this.#epoch > 0 && this.#o.monotonic() < this.#validUntil;
  }

  get epoch(): number {
    return this.holds() ? this.#epoch : 0;
  }

  /** One acquire-or-renew round now (also what the timer runs). Resolves once the outcome is applied. */
  attempt(): Promise<void> {
    this.#tick = this.#tick.then(() => this.#round());
    return this.#tick;
  }

  /** Tries at once, then every renewMs until close(). */
  async start(): Promise<void> {
    await this.attempt();
    const loop = () => {
      if (this.#closed) return;
      this.#timer = setTimeout(() => void this.attempt().finally(loop), this.#o.renewMs);
    };
    loop();
    // A renewal stuck on a dead connection must not keep transports running past the lease.
    this.#watchdog = setInterval(() => {
      if (this.#epoch > 0 && !this.holds()) this.#lose('no renewal before the lease ran out');
    }, Math.max(20, Math.floor(this.#o.marginMs / 2)));
  }

  /** Stops renewing and frees the lease at once, so a follower takes over without waiting for the TTL. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#watchdog);
    await this.#tick.catch(() => undefined);
    const had = this.#epoch > 0;
    this.#epoch = 0;
    this.#validUntil = 0;
    if (had) await this.#o.redis.eval(RELEASE_LUA, 1, this.#o.key, this.#o.id).catch(() => undefined);
  }

  async #round(): Promise<void> {
    if (this.#closed) return;
    const wasHolding = this.#epoch > 0;
    const started = this.#o.monotonic();
    let epoch: number;
    try {
      epoch = Number(await this.#o.redis.eval(ACQUIRE_LUA, 2, this.#o.key, `${this.#o.key}:epoch`, this.#o.id, String(this.#o.ttlMs)));
    } catch (err) {
      // Redis unreachable: keep what we have until it runs out, never longer.
      if (wasHolding && !this.holds()) this.#lose('renewal failed and the lease ran out');
      else this.#o.log.warn({ err: { message: (err as Error).message } }, 'leader lease renewal failed');
      return;
    }
    if (this.#closed) return;
    if (epoch > 0) {
      // Counted from before the call: the key's TTL started no earlier than that. The same epoch means the key
      // stayed ours throughout (nobody else can have held it); a new one means it expired in between.
      this.#validUntil = started + this.#o.ttlMs - this.#o.marginMs;
      if (epoch !== this.#epoch) {
        if (wasHolding) this.#lose('the lease expired between renewals');
        this.#validUntil = started + this.#o.ttlMs - this.#o.marginMs;
        this.#epoch = epoch;
        this.#o.log.info({ epoch, id: this.#o.id }, 'leader lease acquired');
        this.emit('acquired', epoch);
      }
    } else if (wasHolding) {
      this.#lose('another process holds the lease');
    }
  }

  #lose(reason: string): void {
    const epoch = this.#epoch;
    this.#epoch = 0;
    this.#validUntil = 0;
    this.#o.log.warn({ epoch, reason }, 'leader lease lost');
    this.emit('lost', reason);
  }
}
