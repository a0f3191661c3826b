/**
 * Frozen feeds (a scenario control, issue 18): make one symbol's mark, funding or OI go stale the ways real venues do
 * — `stale` keeps answering with the values and timestamp of the moment it froze, `fail` answers every call with a
 * 503 — until `live` again. The rest of the market (orders, positions, liquidation) carries on underneath.
 */
import type { FundingInfo, OpenInterest, Ticker } from '../port.js';
import { ExchangeError } from '../port.js';
import { perpMarket, type EngineContext } from './context.js';
import { rejected } from './errors.js';
import { PAPER_FEEDS, type FrozenFeed } from './state.js';

export { PAPER_FEEDS, type FrozenFeed };
export type PaperFeed = (typeof PAPER_FEEDS)[number];
export const FEED_MODES = ['stale', 'fail', 'live'] as const;
export type FeedMode = (typeof FEED_MODES)[number];

export interface LiveAnswers {
  ticker: Ticker;
  funding: FundingInfo;
  oi: OpenInterest;
}

export function setFeedMode(ctx: EngineContext, symbol: string, feed: PaperFeed | 'all', mode: FeedMode, live: LiveAnswers): void {
  const { spec } = perpMarket(ctx, symbol);
  const sym = spec.perp.symbol;
  if (!(FEED_MODES as readonly string[]).includes(mode)) throw rejected('invalid_mode', `mode must be one of ${FEED_MODES.join(', ')}`);
  const feeds = feed === 'all' ? PAPER_FEEDS : (PAPER_FEEDS as readonly string[]).includes(feed) ? [feed] : null;
  if (!feeds) throw rejected('invalid_feed', `feed must be one of ${PAPER_FEEDS.join(', ')} or all`);
  const all = (ctx.state.frozenFeeds[sym] ??= {});
  for (const f of feeds) {
    if (mode === 'live') {
      delete all[f];
      continue;
    }
    const snap = f === 'mark' ? { ticker: live.ticker } : f === 'funding' ? { funding: live.funding } : { oi: live.oi };
    all[f] = { mode, since: ctx.state.now, ...snap };
  }
  if (Object.keys(all).length === 0) delete ctx.state.frozenFeeds[sym];
}

/** The frozen answer of a feed, a thrown 503, or undefined when the feed is live. */
export function frozenAnswer<K extends 'ticker' | 'funding' | 'oi'>(ctx: EngineContext, symbol: string, feed: PaperFeed, field: K): FrozenFeed[K] | undefined {
  const f = ctx.state.frozenFeeds[symbol]?.[feed];
  if (!f) return undefined;
  if (f.mode === 'fail') throw new ExchangeError('http', `${feed} feed of ${symbol} is unavailable`, 503, 'feed_unavailable');
  return f[field];
}
