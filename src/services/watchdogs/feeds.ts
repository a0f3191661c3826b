/**
 * Stale market data (issue 18 §2): keeps each symbol's mark, funding and OI feed state in Redis (domain/feed-staleness
 * decides what is fresh) and says once when a feed goes stale and once when it recovers. The alert is published
 * before the state that records it is written, under a key derived from the state it was computed from, so a crash
 * in between repeats the key (de-duplicated) rather than losing or doubling the message.
 */
import { z } from 'zod';
import { feedStep, type FeedName, type FeedObservation, type FeedState } from '../../domain/feed-staleness.js';
import { utc } from '../../format.js';
import type { Logger } from '../../log.js';
import type { AlertService } from '../alerts/publish.js';
import { key, type Store } from '../store.js';

const State = z.object({
  freshAt: z.number(),
  venueTs: z.number().nullable(),
  value: z.number().nullable(),
  staleSince: z.number().nullable(),
  failing: z.boolean(),
});

const FEED_WORDS: Record<FeedName, string> = { mark: 'mark price', funding: 'funding rate', oi: 'open interest' };
const ALERT_COOLDOWN_MS = 7 * 86_400_000;

export interface FeedWatchDeps {
  store: Store;
  alerts: AlertService;
  log: Logger;
}

export class FeedWatch {
  constructor(private readonly d: FeedWatchDeps) {}

  get #key(): string {
    return key(this.d.store, 'watch', 'feeds');
  }

  async state(symbol: string, feed: FeedName): Promise<FeedState | null> {
    const raw = await this.d.store.redis.hget(this.#key, `${symbol}:${feed}`);
    if (!raw) return null;
    try {
      const p = State.safeParse(JSON.parse(raw));
      return p.success ? p.data : null;
    } catch {
      return null;
    }
  }

  /** One run's answers (or failures) for a symbol; returns `<feed>:stale|recovered` per announcement made. */
  async observe(symbol: string, observations: FeedObservation[], now: number, staleAfterMs: number): Promise<string[]> {
    const events: string[] = [];
    for (const obs of observations) {
      const prev = await this.state(symbol, obs.feed);
      const step = feedStep(prev, obs, now, staleAfterMs);
      if (step.event === 'stale') {
        const since = step.state.staleSince!;
        const cause = step.cause === 'failing' ? 'every call for it fails' : `the venue keeps answering with data from ${utc(since)}`;
        await this.d.alerts.publish({
          key: `stale:${symbol}:${obs.feed}:${since}`,
          kind: 'stale',
          severity: 'warning',
          symbol,
          title: `Stale data — ${symbol} ${FEED_WORDS[obs.feed]}: nothing fresh since ${utc(since)}`,
          text: `No fresh ${FEED_WORDS[obs.feed]} for ${symbol} for ${minutes(now - since)}: ${cause}. The cascade detector, risk monitor and harvester work on old numbers until it recovers.`,
          fields: [
            { name: 'Feed', value: `${symbol} ${obs.feed}`, inline: true },
            { name: 'Stale since', value: utc(since), inline: true },
            { name: 'Cause', value: step.cause === 'failing' ? 'calls failing' : 'old data', inline: true },
          ],
          cooldownMs: ALERT_COOLDOWN_MS,
          at: now,
        });
        this.d.log.warn({ symbol, feed: obs.feed, since, cause: step.cause }, 'market data feed stale');
        events.push(`${obs.feed}:stale`);
      } else if (step.event === 'recovered') {
        const since = prev!.staleSince!;
        await this.d.alerts.publish({
          key: `stale:${symbol}:${obs.feed}:${since}:recovered`,
          kind: 'stale',
          severity: 'success',
          symbol,
          title: `Data recovered — ${symbol} ${FEED_WORDS[obs.feed]} is fresh again`,
          text: `Stale since ${utc(since)}, for ${minutes(now - since)}.`,
          cooldownMs: ALERT_COOLDOWN_MS,
          at: now,
        });
        this.d.log.info({ symbol, feed: obs.feed, since }, 'market data feed recovered');
        events.push(`${obs.feed}:recovered`);
      }
      await this.d.store.redis.hset(this.#key, `${symbol}:${obs.feed}`, JSON.stringify(step.state));
    }
    return events;
  }
}

function minutes(ms: number): string {
  const m = ms / 60_000;
  return m >= 1 ? `${Number(m.toFixed(1))} min` : `${Math.round(ms / 1000)} s`;
}
