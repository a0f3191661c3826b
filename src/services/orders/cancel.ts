/**
 * Cancels resting orders at the venue, once: `/cancel`, `/cancel all` and flatten's cancel legs all come through
 * here. A cancel claims the order in Redis first (SET NX), so two people cancelling the same order at once make one
 * cancel request and both are told how it ended. An order PerpDesk placed moves its approval `submitted → canceling`
 * before the request is sent and `canceling → canceled` (or `filled`) from the venue's answer: a crash in between
 * leaves `canceling`, which the orders sweep finishes (finishCanceling), and a venue-side cancel is never mistaken for
 * one asked from chat. What filled before the cancel stays on the record.
 */
import { z } from 'zod';
import { ExchangeError, type Exchange, type Order } from '../../exchange/port.js';
import type { Logger } from '../../log.js';
import type { AuditLog } from '../audit.js';
import { planWords, SYSTEM, type ApprovalStore, type Cause } from '../approvals/store.js';
import type { ApprovalRecord, OrderResult } from '../approvals/types.js';
import { key, type Store } from '../store.js';
import { LuaScript } from '../../queues/lua-script.js';

/**
 * A claim with no result yet belongs to a cancel in flight; older than this by the desk's clock it is taken for
 * abandoned (the process died) and another cancel may take it over.
 */
export const CANCEL_CLAIM_MS = 60_000;
/** How long "already cancelled by …" can be answered for an order (Redis expiry of a claim). */
const DONE_TTL_MS = 7 * 86_400_000;
/** A second person's /cancel waits this long for the first one's answer before saying it is still in flight. */
const WAIT_FOR_OTHER_MS = 3_000;

/**
 * Takes the claim when it is free, or when it still holds exactly `stale` (an abandoned claim read just before).
 * KEYS: 1 claim. ARGV: 1 new claim JSON, 2 the stale value to replace ('' = only when free), 3 expiry ms.
 * Returns false when taken, else the claim as it stands.
 */
const CLAIM = new LuaScript('pdCancelClaim', `
local cur = redis.call('GET', KEYS[1])
if (not cur and ARGV[2] == '') or (cur and cur == ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  return false
end
return cur
`, 1);

export function isOpenOrder(o: Pick<Order, 'status'>): boolean {
  return o.status === 'new' || o.status === 'partially_filled';
}

/** The approval id of an order PerpDesk placed for `/order` or `/close` (`pd-<approvalId>`), else null. */
export function approvalIdOf(clientOrderId: string): string | null {
  const m = /^pd-([A-Za-z0-9]+)$/.exec(clientOrderId);
  return m ? m[1]! : null;
}

const Claim = z.object({
  by: z.string(),
  at: z.number(),
  /** A caller that may take its own claim up again after a crash (a flatten leg resumed by another process). */
  owner: z.string().optional(),
  /** Set once the cancel has its answer: how the order ended. */
  done: z.object({ status: z.string(), filledQuantity: z.number() }).optional(),
});
type Claim = z.infer<typeof Claim>;

export type CancelOutcome =
  /** This call cancelled it: the venue's answer, and the approval as it ended (orders PerpDesk placed). */
  | { kind: 'canceled'; order: Order; approval: ApprovalRecord | null }
  /** Someone else's cancel of this order finished (`done`) or is still running. */
  | { kind: 'canceled_by_other'; by: string; at: number; filledQuantity: number; order: Order }
  | { kind: 'in_progress'; by: string; at: number; order: Order }
  /** It was no longer open when the cancel arrived: it filled, was cancelled by the venue, or rejected. */
  | { kind: 'not_open'; order: Order }
  /** The venue's answer did not arrive (timeout, network): it may or may not be cancelled; nothing else was done. */
  | { kind: 'unknown'; order: Order; error: string };

export interface CancellerDeps {
  store: Store;
  exchange: Exchange;
  approvals: ApprovalStore;
  audit: AuditLog;
  log: Logger;
  now: () => number;
  /** Waits between looks at another person's cancel (tests pass a faster one). */
  sleep?: (ms: number) => Promise<void>;
}

/** The venue definitely refused (the order is not open, or unknown to it): nothing was cancelled by this request. */
function refused(e: unknown): e is ExchangeError {
  if (!(e instanceof ExchangeError)) return false;
  if (e.kind === 'rejected') return true;
  return e.kind === 'http' && e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429;
}

function resultOf(o: Order): OrderResult {
  const r: OrderResult = { orderId: o.orderId, status: o.status, filledQuantity: o.filledQuantity, avgPrice: o.avgPrice };
  if (o.rejectReason !== undefined) r.rejectReason = o.rejectReason;
  return r;
}

/**
 * Records how a `canceling` approval's order ended: cancelled (what filled before stays on the record), or filled
 * in full before the cancel arrived. Still open: nothing is recorded (the cancel has not landed).
 */
export async function recordCancelEnd(approvals: ApprovalStore, rec: ApprovalRecord, order: Order, now: number, cause: Cause = SYSTEM): Promise<ApprovalRecord | null> {
  if (isOpenOrder(order)) return rec;
  const result = resultOf(order);
  if (order.status === 'filled') {
    const t = await approvals.transition(rec.id, ['canceling'], 'filled', now, {
      action: 'order.filled',
      detail: `${order.orderId} filled ${order.filledQuantity} at ${order.avgPrice ?? 'unknown'} before its cancel arrived: ${planWords(rec)}`,
      cause,
      result,
    });
    return t.ok ? t.record : t.current;
  }
  const t = await approvals.transition(rec.id, ['canceling'], 'canceled', now, {
    action: 'order.canceled',
    detail: `${order.orderId} ${order.status} with ${order.filledQuantity} filled${order.avgPrice === null ? '' : ` at ${order.avgPrice}`}: ${planWords(rec)}`,
    cause,
    result,
  });
  return t.ok ? t.record : t.current;
}

function parseClaim(raw: string): Claim | null {
  try {
    const p = Claim.safeParse(JSON.parse(raw));
    return p.success ? p.data : null;
  } catch {
    return null;
  }
}

export class OrderCanceller {
  constructor(private readonly d: CancellerDeps) {}

  #claimKey(orderId: string): string {
    return key(this.d.store, 'cancel', orderId);
  }

  /** Null when the claim is ours (new, our own unfinished one, or an abandoned one taken over); else the other claim. */
  async #claim(orderId: string, mine: Claim): Promise<Claim | null> {
    const k = this.#claimKey(orderId);
    let raw = (await CLAIM.run(this.d.store.redis, [k], [JSON.stringify(mine), '', DONE_TTL_MS])) as string | null;
    if (raw === null) return null;
    const other = parseClaim(raw);
    if (other && !other.done && mine.owner !== undefined && other.owner === mine.owner) return null;
    if (other && !other.done && mine.at - other.at >= CANCEL_CLAIM_MS) {
      raw = (await CLAIM.run(this.d.store.redis, [k], [JSON.stringify(mine), raw, DONE_TTL_MS])) as string | null;
      if (raw === null) return null;
      return parseClaim(raw) ?? { by: 'someone', at: mine.at };
    }
    return other ?? { by: 'someone', at: mine.at };
  }

  /** Who cancelled this order through PerpDesk, and when, if anyone did recently. */
  async lastCancel(orderId: string): Promise<{ by: string; at: number; finished: boolean } | null> {
    const c = await this.#read(orderId);
    return c ? { by: c.by, at: c.at, finished: c.done !== undefined } : null;
  }

  async #read(orderId: string): Promise<Claim | null> {
    const raw = await this.d.store.redis.get(this.#claimKey(orderId));
    return raw ? parseClaim(raw) : null;
  }

  async #finish(orderId: string, claim: Claim, order: Order): Promise<void> {
    const done: Claim = { ...claim, done: { status: order.status, filledQuantity: order.filledQuantity } };
    await this.d.store.redis.set(this.#claimKey(orderId), JSON.stringify(done), 'PX', DONE_TTL_MS);
  }

  /** Waits a little for another person's cancel of the same order to finish, so both are told how it ended. */
  async #awaitOther(order: Order, other: Claim): Promise<CancelOutcome> {
    const sleep = this.d.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let c: Claim | null = other;
    for (let waited = 0; c && !c.done && waited < WAIT_FOR_OTHER_MS; waited += 50) {
      await sleep(50);
      c = await this.#read(order.orderId);
    }
    if (c?.done) return { kind: 'canceled_by_other', by: c.by, at: c.at, filledQuantity: c.done.filledQuantity, order };
    return { kind: 'in_progress', by: (c ?? other).by, at: (c ?? other).at, order };
  }

  /**
   * Cancels `order` (as the venue listed it) for `who`. Audited; the approval of an order PerpDesk placed ends
   * `canceled` with what filled. Never throws for the venue's answers: each is an outcome to tell people.
   */
  async cancel(order: Order, who: Cause & { name: string }, opts: { reason?: string; owner?: string } = {}): Promise<CancelOutcome> {
    const now = this.d.now();
    const reason = opts.reason ?? 'cancelled from chat';
    const cause: Cause = { actor: who.actor, platform: who.platform };
    const claim: Claim = { by: who.name, at: now, ...(opts.owner === undefined ? {} : { owner: opts.owner }) };
    const other = await this.#claim(order.orderId, claim);
    if (other) return this.#awaitOther(order, other);

    const approvalId = approvalIdOf(order.clientOrderId);
    let rec = approvalId ? await this.d.approvals.get(approvalId) : null;
    if (rec) {
      const t = await this.d.approvals.transition(rec.id, ['submitted', 'canceling'], 'canceling', now, {
        action: 'order.cancel_requested',
        detail: `${who.name} cancels ${order.orderId} (${reason}): ${planWords(rec)}`,
        cause,
        decidedBy: who.name,
      });
      // Already final (filled, failed, canceled): the venue's listing tells how; nothing to send.
      if (!t.ok) rec = null;
      else rec = t.record;
    }
    let answer: Order;
    try {
      answer = await this.d.exchange.cancelOrder(order.orderId);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (!refused(e)) {
        // The claim lapses on its own, so a later /cancel can try again; the sweep finishes a `canceling` approval.
        this.d.log.warn({ orderId: order.orderId, error: msg }, 'cancel outcome unknown');
        await this.d.audit.append({ ts: this.d.now(), ...cause, action: 'order.cancel_unknown', subject: rec?.id ?? order.orderId, detail: `${order.orderId} ${order.symbol}: no answer from the venue (${msg})` });
        return { kind: 'unknown', order, error: msg };
      }
      const listed = await this.#lookup(order);
      const ended = listed ?? order;
      if (rec) await recordCancelEnd(this.d.approvals, rec, ended, this.d.now(), cause);
      await this.#finish(order.orderId, claim, ended);
      if (listed && isOpenOrder(listed)) return { kind: 'unknown', order: listed, error: msg };
      return { kind: 'not_open', order: ended };
    }
    const approval = rec ? await recordCancelEnd(this.d.approvals, rec, answer, this.d.now(), cause) : null;
    if (!rec) {
      await this.d.audit.append({
        ts: this.d.now(), ...cause, action: 'order.canceled', subject: order.orderId,
        detail: `${order.orderId} (${order.clientOrderId}) ${order.symbol} ${order.side} ${order.quantity}: ${answer.status}, ${answer.filledQuantity} filled (${reason})`,
      });
    }
    await this.#finish(order.orderId, claim, answer);
    this.d.log.info({ orderId: order.orderId, approvalId: rec?.id, filled: answer.filledQuantity }, 'order cancelled');
    return { kind: 'canceled', order: answer, approval };
  }

  async #lookup(order: Order): Promise<Order | null> {
    const list = await this.d.exchange.listOrders({ clientOrderId: order.clientOrderId }).catch(() => []);
    return list.find((o) => o.orderId === order.orderId) ?? null;
  }
}

/**
 * The sweep's half of a cancel that a crash interrupted: the approval is `canceling`; cancel again if the order still
 * rests (a repeated cancel of an open order is harmless), then record how it ended.
 */
export async function finishCanceling(d: { approvals: ApprovalStore; exchange: Exchange; now: () => number }, rec: ApprovalRecord, order: Order): Promise<ApprovalRecord | null> {
  let ended = order;
  if (isOpenOrder(order)) {
    try {
      ended = await d.exchange.cancelOrder(order.orderId);
    } catch (e) {
      if (!refused(e)) throw e;
      const list = await d.exchange.listOrders({ clientOrderId: order.clientOrderId });
      ended = list.find((o) => o.orderId === order.orderId) ?? order;
    }
  }
  return recordCancelEnd(d.approvals, rec, ended, d.now());
}
