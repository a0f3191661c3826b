/**
 * Stale market data (issue 18): a feed (a symbol's mark, funding or OI) is stale when no fresh value has arrived for
 * longer than `staleAfterMs`. Fresh means:
 * - mark and OI: the venue's timestamp moved forward (the data is then as old as its stamp), or, with the stamp
 *   stuck, the value changed; neither moving is "has not changed".
 * - funding (no stamp of its own): the venue still announces a funding time no older than one period, so an answer
 *   frozen in the past is caught; a rate that simply stays the same for hours is normal and is not staleness.
 * - a failed call brings nothing fresh; failures in a row age the feed like old stamps do.
 * The state carries whether staleness was announced, so one alert goes out when it starts and one when it ends.
 */

export type FeedName = 'mark' | 'funding' | 'oi';

export interface FeedState {
  /** Time (our clock) of the newest data seen. */
  freshAt: number;
  /** The venue's stamp and value at the last good answer (null for funding's stamp). */
  venueTs: number | null;
  value: number | null;
  /** When the stale alert went out: the feed's `freshAt` at that moment; null while not announced. */
  staleSince: number | null;
  /** Whether the last call failed. */
  failing: boolean;
}

export type FeedObservation =
  | { ok: true; feed: 'mark' | 'oi'; ts: number; value: number }
  | { ok: true; feed: 'funding'; nextFundingTs: number; value: number }
  | { ok: false; feed: FeedName };

export interface FeedStep {
  state: FeedState;
  /** `stale`: announce it (since `state.freshAt`); `recovered`: announce the end; null: nothing to say. */
  event: 'stale' | 'recovered' | null;
  /** Why it is stale: the venue's answers are old, or every call fails. */
  cause: 'old_data' | 'failing';
}

export function feedStep(prev: FeedState | null, obs: FeedObservation, now: number, staleAfterMs: number): FeedStep {
  let freshAt = prev?.freshAt ?? now;
  let venueTs = prev?.venueTs ?? null;
  let value = prev?.value ?? null;
  if (obs.ok && obs.feed !== 'funding') {
    const stampMoved = venueTs === null || obs.ts > venueTs;
    const valueMoved = value === null || obs.value !== value;
    if (stampMoved) freshAt = prev ? Math.max(freshAt, Math.min(now, obs.ts)) : Math.min(now, obs.ts);
    else if (valueMoved) freshAt = now;
    venueTs = Math.max(venueTs ?? obs.ts, obs.ts);
    value = obs.value;
  } else if (obs.ok && obs.feed === 'funding') {
    // A funding time more than one stale period in the past: the answer describes a market that has moved on.
    if (obs.nextFundingTs > now - staleAfterMs) freshAt = now;
    else if (!prev) freshAt = obs.nextFundingTs;
    value = obs.value;
  }
  const failing = !obs.ok;
  const stale = now - freshAt > staleAfterMs;
  const announced = prev?.staleSince ?? null;
  let event: FeedStep['event'] = null;
  let staleSince = announced;
  if (stale && announced === null) {
    event = 'stale';
    staleSince = freshAt;
  } else if (!stale && announced !== null) {
    event = 'recovered';
    staleSince = null;
  }
  return { state: { freshAt, venueTs, value, staleSince, failing }, event, cause: failing ? 'failing' : 'old_data' };
}
