import { z } from 'zod';
import { key, type Store } from '../store.js';
import { DEFAULT_PREFS, DestPrefs, Destination, SIGNAL_KINDS, destKey, modeOf } from './types.js';

export const Subscription = z.object({
  dest: Destination,
  prefs: DestPrefs,
  since: z.number(),
  by: z.string(),
});
export type Subscription = z.infer<typeof Subscription>;

/**
 * Chats that opted in with `/subscribe`, with their filters, in one Redis hash (field = `platform:chatId`). The
 * configured team destinations use the same record for their filters when someone ran `/subscribe` there.
 */
export class Subscriptions {
  constructor(private readonly store: Store) {}

  get #key(): string {
    return key(this.store, 'alerts', 'subs');
  }

  async subscribe(dest: Destination, prefs: DestPrefs, by: string, at: number): Promise<Subscription> {
    const sub: Subscription = { dest, prefs: DestPrefs.parse(prefs), since: at, by };
    // `signals` keeps the record readable by a replica still running the version before per-kind modes (a rolling
    // upgrade): without it that replica would drop the subscription as unreadable.
    const legacy = { signals: SIGNAL_KINDS.filter((k) => modeOf(sub.prefs, k) !== 'off') };
    await this.store.redis.hset(this.#key, destKey(dest), JSON.stringify({ ...sub, prefs: { ...sub.prefs, ...legacy } }));
    return sub;
  }

  /** Returns whether the chat was subscribed. */
  async unsubscribe(dest: Pick<Destination, 'platform' | 'chatId'>): Promise<boolean> {
    return (await this.store.redis.hdel(this.#key, `${dest.platform}:${dest.chatId}`)) > 0;
  }

  async get(dest: Pick<Destination, 'platform' | 'chatId'>): Promise<Subscription | null> {
    const raw = await this.store.redis.hget(this.#key, `${dest.platform}:${dest.chatId}`);
    return raw ? parse(raw) : null;
  }

  async prefsOf(dest: Pick<Destination, 'platform' | 'chatId'>): Promise<DestPrefs> {
    return (await this.get(dest))?.prefs ?? DEFAULT_PREFS;
  }

  async list(): Promise<Subscription[]> {
    const all = await this.store.redis.hvals(this.#key);
    return all.flatMap((raw) => {
      const s = parse(raw);
      return s ? [s] : [];
    });
  }
}

function parse(raw: string): Subscription | null {
  try {
    const p = Subscription.safeParse(JSON.parse(raw));
    return p.success ? p.data : null;
  } catch {
    return null;
  }
}
