import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AuditEntry, AuditLog } from '../audit.js';
import { APPROVAL_SCRIPTS as SCRIPTS } from './scripts.js';
import {
  APPROVAL_STATUSES, ApprovalData, Approver, FINAL_STATUSES, OrderResult, accountWords, identityKey,
  type ApprovalRecord, type ApprovalStatus, type Person,
} from './types.js';
import { key, type Store } from '../store.js';
import { multiple, utc } from '../../format.js';
import { approvalTransitionsTotal } from '../../metrics/registry.js';
import { hashOf, parseJson } from '../stored-values.js';

export * from './types.js';

/** Final approvals stay readable this long (stale buttons, /audit context), then Redis drops them. */
const RETENTION_SECONDS = 30 * 86_400;
const AUDIT_MAXLEN = 100_000;

/** Who caused a transition, for the audit stream. The system acts as "PerpDesk". */
export interface Cause {
  actor: string;
  platform: string;
}

export const SYSTEM: Cause = { actor: 'PerpDesk', platform: 'system' };

export function causeOf(p: Person): Cause {
  return { actor: `${p.displayName} (${accountWords(p)})`, platform: p.platform };
}

export interface TransitionChange {
  /** Audit action, e.g. `order.rejected`. */
  action: string;
  detail: string;
  cause: Cause;
  decidedBy?: string;
  reason?: string;
  result?: OrderResult;
}

export type TransitionOutcome =
  | { ok: true; record: ApprovalRecord }
  | { ok: false; current: ApprovalRecord | null };

export type ApproveOutcome =
  | { kind: 'approved' | 'recorded' | 'duplicate'; count: number; record: ApprovalRecord }
  | { kind: 'expired' | 'conflict'; record: ApprovalRecord }
  | { kind: 'missing' };

/** A flat HGETALL reply from inside a script: field, value, field, value, … */
const FlatHash = z.array(z.string());
/** A changing script's reply: its outcome, then the approval and its approvers as they stand after it. */
const ScriptReply = z.tuple([z.string(), z.union([z.string(), z.number()]), FlatHash, FlatHash]);
const ReadReply = z.tuple([FlatHash, FlatHash]);

/** Ids start with a letter (BullMQ refuses integer-looking job ids) and fit button ids and client_order_id. */
export function newApprovalId(now: number): string {
  return `a${Math.floor(now).toString(36)}${randomBytes(4).toString('hex')}`;
}

export type NewApproval = Omit<ApprovalData, 'id'> & { id?: string };

/**
 * The approval state machine, persisted in Redis. Every transition is a compare-and-set on the status inside a
 * Lua script that also appends the audit entry, so it is persisted (and recorded) before anyone acts on it.
 */
export class ApprovalStore {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
  ) {}

  #key(id: string): string {
    return key(this.store, 'approval', id);
  }

  #approversKey(id: string): string {
    return key(this.store, 'approval', id, 'approvers');
  }

  get #openKey(): string {
    return key(this.store, 'approvals', 'open');
  }

  /** Saves a new `pending` approval and its `order.requested` audit entry in one transaction. */
  async create(input: NewApproval): Promise<ApprovalRecord> {
    const data = ApprovalData.parse({ ...input, id: input.id ?? newApprovalId(input.createdAt) });
    const k = this.#key(data.id);
    const entry: AuditEntry = {
      ts: data.createdAt,
      ...causeOf(data.requester),
      action: 'order.requested',
      subject: data.id,
      detail: `${planWords(data)}; needs ${data.required} approval(s) before ${utc(data.expiresAt)}`,
    };
    const created = await SCRIPTS.create.run(this.store.redis, [k, this.#openKey, this.audit.streamKey], [
      JSON.stringify(data), String(data.expiresAt), String(data.createdAt), data.id,
      JSON.stringify(entry), String(AUDIT_MAXLEN),
    ]);
    if (created !== 1) throw new Error(`approval id ${data.id} already exists`);
    approvalTransitionsTotal.inc({ state: 'pending' });
    return { ...data, status: 'pending', approvers: [], decidedBy: null, reason: null, result: null, updatedAt: data.createdAt };
  }

  /** The approval and its approvers, read in one atomic step (one round trip). */
  async get(id: string): Promise<ApprovalRecord | null> {
    const [h, a] = ReadReply.parse(await SCRIPTS.read.run(this.store.redis, [this.#key(id), this.#approversKey(id)], []));
    return parseRecord(hashOf(h), hashOf(a));
  }

  /** Ids of approvals not yet final, oldest first. */
  async openIds(): Promise<string[]> {
    return this.store.redis.zrange(this.#openKey, '0', '-1');
  }

  /**
   * Moves the approval from one of `from` to `to` atomically, writing the audit entry with it. Fails (returning the
   * current record) when another click or worker changed the status first.
   */
  async transition(id: string, from: readonly ApprovalStatus[], to: ApprovalStatus, now: number, change: TransitionChange): Promise<TransitionOutcome> {
    const fields: string[] = ['updatedAt', String(now)];
    if (change.decidedBy !== undefined) fields.push('decidedBy', change.decidedBy);
    if (change.reason !== undefined) fields.push('reason', change.reason);
    if (change.result !== undefined) fields.push('result', JSON.stringify(OrderResult.parse(change.result)));
    const entry: AuditEntry = { ts: now, ...change.cause, action: change.action, subject: id, detail: change.detail };
    const raw = await SCRIPTS.transition.run(this.store.redis, [this.#key(id), this.#approversKey(id), this.#openKey, this.audit.streamKey], [
      from.join(','), to, FINAL_STATUSES.has(to) ? '1' : '0', JSON.stringify(entry), String(AUDIT_MAXLEN), id,
      String(RETENTION_SECONDS), ...fields,
    ]);
    const [kind, , h, a] = ScriptReply.parse(raw);
    const record = parseRecord(hashOf(h), hashOf(a));
    // A resting order's progress (submitted → submitted) is news, not a change of state.
    if (kind === 'ok' && !from.includes(to)) approvalTransitionsTotal.inc({ state: to });
    if (kind === 'ok' && record) return { ok: true, record };
    return { ok: false, current: record };
  }

  /**
   * Adds `approver` to the approval's set of distinct approvers (people, not accounts: `alsoKnownAs` are the other
   * keys the same person may have approved under); the click that reaches `required` moves it to `approved`. Expiry
   * is checked inside the same atomic step, so a click at the deadline cannot slip through. Given the record the
   * caller already read (its data never changes after creation; its status is re-checked in the script), no extra
   * read is needed.
   */
  async approve(approval: string | ApprovalData, approver: Person, now: number, alsoKnownAs: readonly string[] = []): Promise<ApproveOutcome> {
    const before = typeof approval === 'string' ? await this.get(approval) : approval;
    if (!before) return { kind: 'missing' };
    const id = before.id;
    const who = causeOf(approver);
    const base = { ts: now, ...who, subject: id };
    const recorded: AuditEntry = { ...base, action: 'order.approval_recorded', detail: `approval __COUNT__ of ${before.required}: ${planWords(before)}` };
    const approved: AuditEntry = { ...base, action: 'order.approved', detail: `approval __COUNT__ of ${before.required}, order approved: ${planWords(before)}` };
    const raw = await SCRIPTS.approve.run(this.store.redis, [this.#key(id), this.#approversKey(id), this.audit.streamKey], [
      identityKey(approver), JSON.stringify(Approver.parse({ ...approver, at: now })), String(before.required), String(now),
      JSON.stringify(recorded), JSON.stringify(approved), String(AUDIT_MAXLEN), ...alsoKnownAs,
    ]);
    const [kind, n, h, a] = ScriptReply.parse(raw);
    if (kind === 'approved') approvalTransitionsTotal.inc({ state: 'approved' });
    const record = parseRecord(hashOf(h), hashOf(a));
    if (!record) return { kind: 'missing' };
    if (kind === 'approved' || kind === 'recorded' || kind === 'duplicate') return { kind, count: Number(n), record };
    if (kind === 'expired') return { kind: 'expired', record };
    return { kind: 'conflict', record };
  }

  /** Moves a pending approval past its deadline to `expired`. */
  expire(rec: ApprovalRecord, now: number): Promise<TransitionOutcome> {
    return this.transition(rec.id, ['pending'], 'expired', now, {
      action: 'order.expired',
      detail: `not approved within the time limit: ${planWords(rec)}`,
      cause: SYSTEM,
      reason: `not approved before ${utc(rec.expiresAt)}`,
    });
  }
}

/** One line naming the order, for audit entries. */
export function planWords(d: Pick<ApprovalData, 'plan'>): string {
  const p = d.plan;
  const how = p.orderType === 'limit' && p.price !== null ? `limit ${p.price}` : 'market';
  const ro = p.reduceOnly ? ', reduce-only' : '';
  return `${p.kind === 'close' ? 'close ' : ''}${p.positionSide} ${p.symbol}: ${p.side} ${p.quantity} ${p.base} ${how}, ${multiple(p.leverage)}${ro}`;
}



const Status = z.enum(APPROVAL_STATUSES);

function parseRecord(h: Record<string, string>, approversRaw: Record<string, string>): ApprovalRecord | null {
  if (!h || !h.status) return null;
  const status = Status.safeParse(h.status);
  const data = ApprovalData.safeParse(parseJson(h.data));
  // A record we cannot read is treated as unknown: nothing acts on it.
  if (!status.success || !data.success) return null;
  const approvers = Object.values(approversRaw ?? {})
    .flatMap((r) => {
      const p = Approver.safeParse(parseJson(r));
      return p.success ? [p.data] : [];
    })
    .sort((a, b) => a.at - b.at || a.displayName.localeCompare(b.displayName));
  const result = h.result === undefined ? null : OrderResult.safeParse(parseJson(h.result));
  return {
    ...data.data,
    status: status.data,
    approvers,
    decidedBy: h.decidedBy ?? null,
    reason: h.reason ?? null,
    result: result && result.success ? result.data : null,
    updatedAt: Number(h.updatedAt ?? data.data.createdAt),
  };
}
