import { z } from 'zod';
import { key, type Store } from './store.js';

export const PauseState = z.object({
  paused: z.literal(true),
  by: z.string(),
  reason: z.string(),
  at: z.number(),
});
export type PauseState = z.infer<typeof PauseState>;

/** The manual kill switch (/pause, /resume). Stored in Redis so every process and restart sees it. */
export class KillSwitch {
  constructor(private readonly store: Store) {}

  async state(): Promise<PauseState | null> {
    const raw = await this.store.redis.get(key(this.store, 'killswitch'));
    if (!raw) return null;
    const parsed = PauseState.safeParse(JSON.parse(raw));
    // A corrupt record must not read as "not paused": fail closed.
    return parsed.success ? parsed.data : { paused: true, by: 'unknown', reason: 'unreadable pause record', at: 0 };
  }

  async isPaused(): Promise<boolean> {
    return (await this.state()) !== null;
  }

  /** Returns false when trading was already paused (the first reason stays). */
  async pause(by: string, reason: string, at: number): Promise<boolean> {
    const state: PauseState = { paused: true, by, reason, at };
    const ok = await this.store.redis.set(key(this.store, 'killswitch'), JSON.stringify(state), 'NX');
    return ok === 'OK';
  }

  /** Returns the state that was lifted, or null when trading was not paused. */
  async resume(): Promise<PauseState | null> {
    const k = key(this.store, 'killswitch');
    const raw = await this.store.redis.getdel(k);
    if (!raw) return null;
    const parsed = PauseState.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : { paused: true, by: 'unknown', reason: 'unreadable pause record', at: 0 };
  }
}
