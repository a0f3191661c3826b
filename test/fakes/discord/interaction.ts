import { isObject } from './http-io.js';
import type { AutocompleteChoice, FinalMessage, InteractionResponseRecord, JsonObject, StoredMessage } from './types.js';

export type InteractionKind = 'command' | 'autocomplete' | 'button';

export interface WaitOptions {
  /** Give up after this long (default 5000 ms) with an error listing what did arrive. */
  timeoutMs?: number;
}

export interface FinalOptions extends WaitOptions {
  /** The reply counts as final once no further response arrived for this long (default 75 ms). */
  settleMs?: number;
}

const EPHEMERAL = 64;

/** The driver's handle on one dispatched interaction: everything the client answered, in order. */
export class StandInInteraction {
  readonly responses: InteractionResponseRecord[] = [];
  /** ms from dispatch to the first callback the stand-in received (even a late, refused one). */
  ackLatencyMs: number | null = null;
  /** True when the first callback came after the ack deadline (Discord: 3 s) and was refused with 10062. */
  late = false;
  /** The callback type the interaction was acknowledged with, once accepted. */
  acknowledgedWith: number | null = null;
  /** The message `@original` refers to: the reply, or for 6/7 the message the component sits on. */
  originalMessageId: string | null = null;
  readonly followUpIds: string[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly id: string,
    readonly token: string,
    readonly kind: InteractionKind,
    /** The INTERACTION_CREATE `d` exactly as dispatched. */
    readonly payload: JsonObject,
    readonly dispatchedAt: number,
    /** For buttons: the message the button sits on. */
    readonly componentMessageId: string | null,
    private readonly lookup: (messageId: string) => StoredMessage | undefined,
  ) {}

  record(r: InteractionResponseRecord): void {
    this.responses.push(r);
    for (const l of [...this.listeners]) l();
  }

  /** Resolves with the first callback (POST /interactions/{id}/{token}/callback), accepted or refused. */
  firstResponse(opts: WaitOptions = {}): Promise<InteractionResponseRecord> {
    return this.waitFor(() => this.responses.find((r) => r.kind === 'callback') ?? null, 'a callback', opts.timeoutMs);
  }

  /** The message the interaction ended up showing, once the client stopped changing it: no response arrived for
   * `settleMs` after the reply stopped being a deferred placeholder. A handler that pauses longer than that between
   * edits would be caught mid-way; use `waitForMessage` for those. Rejects for interactions answered with
   * autocomplete choices or a modal, or never (validly) acknowledged. */
  async final(opts: FinalOptions = {}): Promise<FinalMessage> {
    const settleMs = opts.settleMs ?? 75;
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    for (;;) {
      const remaining = Math.max(1, deadline - Date.now());
      await this.waitFor(() => (this.settledMessage() !== null ? true : null), 'a final message', remaining);
      const seen = this.responses.length;
      await new Promise((r) => setTimeout(r, settleMs));
      if (this.responses.length === seen) {
        const m = this.settledMessage();
        if (m !== null) return m;
      }
      if (Date.now() >= deadline) throw this.timeoutError('a final message');
    }
  }

  /** Deterministic alternative to `final()` for handlers that edit several times: resolves once `@original`
   * satisfies `predicate`. */
  waitForMessage(predicate: (m: FinalMessage) => boolean, opts: WaitOptions = {}): Promise<FinalMessage> {
    return this.waitFor(() => {
      const m = this.current();
      return m !== null && predicate(m) ? m : null;
    }, 'a message matching the predicate', opts.timeoutMs);
  }

  /** Current state of `@original`, or null while there is none (or it is still a deferred "thinking…"). */
  current(): FinalMessage | null {
    if (this.originalMessageId === null) return null;
    const m = this.lookup(this.originalMessageId);
    if (!m || m.deleted || m.loading) return null;
    return toFinal(m);
  }

  followUps(): FinalMessage[] {
    return this.followUpIds.flatMap((id) => {
      const m = this.lookup(id);
      return m && !m.deleted ? [toFinal(m)] : [];
    });
  }

  async autocompleteChoices(opts: WaitOptions = {}): Promise<AutocompleteChoice[]> {
    const r = await this.waitFor(() => this.acceptedCallback(), 'an accepted callback', opts.timeoutMs);
    if (r.callbackType !== 8) throw new Error(`interaction ${this.id} was answered with callback type ${String(r.callbackType)}, not 8 (autocomplete)`);
    const data = isObject(r.body) && isObject(r.body.data) ? r.body.data : null;
    const choices = data && Array.isArray(data.choices) ? data.choices : [];
    return choices.filter(isObject).map((c) => ({ name: String(c.name), value: typeof c.value === 'number' ? c.value : String(c.value) }));
  }

  async modal(opts: WaitOptions = {}): Promise<JsonObject> {
    const r = await this.waitFor(() => this.acceptedCallback(), 'an accepted callback', opts.timeoutMs);
    const data = isObject(r.body) && isObject(r.body.data) ? r.body.data : null;
    if (r.callbackType !== 9 || !data) throw new Error(`interaction ${this.id} was answered with callback type ${String(r.callbackType)}, not 9 (modal)`);
    return data;
  }

  private acceptedCallback(): InteractionResponseRecord | null {
    return this.responses.find((r) => r.kind === 'callback' && r.rejected === null) ?? null;
  }

  private settledMessage(): FinalMessage | null {
    const cb = this.acceptedCallback();
    if (!cb) {
      if (this.responses.some((r) => r.kind === 'callback')) {
        throw new Error(`interaction ${this.id} was never validly acknowledged: ${describe(this.responses)}`);
      }
      return null;
    }
    if (cb.callbackType === 8 || cb.callbackType === 9) {
      throw new Error(`interaction ${this.id} was answered with callback type ${cb.callbackType}; use ${cb.callbackType === 8 ? 'autocompleteChoices()' : 'modal()'}`);
    }
    // A deferred update leaves the old message on screen; it is final only once something followed it.
    if (cb.callbackType === 6 && !this.responses.some((r) => r.kind !== 'callback' && r.rejected === null)) return null;
    return this.current();
  }

  /** Resolves with the first non-null `probe()`; the probe is re-run whenever the client sends a response for this
   * interaction (and once at the start), so it should look at interaction state, not at outside variables. */
  waitFor<T>(probe: () => T | null, what: string, timeoutMs = 5000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        let v: T | null;
        try {
          v = probe();
        } catch (e) {
          done();
          reject(e instanceof Error ? e : new Error(String(e)));
          return true;
        }
        if (v === null) return false;
        done();
        resolve(v);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(this.timeoutError(what));
      }, timeoutMs);
      const listener = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      this.listeners.add(listener);
      check();
    });
  }

  private timeoutError(what: string): Error {
    return new Error(`interaction ${this.id} (${this.kind}): timed out waiting for ${what}; got ${describe(this.responses)}`);
  }
}

function describe(rs: InteractionResponseRecord[]): string {
  if (rs.length === 0) return 'no response at all';
  return rs
    .map((r) => `${r.kind}${r.callbackType !== null ? `(type ${r.callbackType})` : ''} -> ${r.status}${r.rejected ? ` [${r.rejected}]` : ''}`)
    .join(', ');
}

export function toFinal(m: StoredMessage): FinalMessage {
  return {
    id: m.id,
    channelId: m.channelId,
    content: m.content,
    embeds: m.embeds,
    components: m.components,
    attachments: m.attachments,
    flags: m.flags,
    ephemeral: (m.flags & EPHEMERAL) !== 0,
  };
}
