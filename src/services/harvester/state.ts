import { z } from 'zod';
import { key, type Store } from '../store.js';
import { APPROVE_LUA, TRANSITION_LUA } from '../approvals/scripts.js';
import { AuditEntry, AuditLog } from '../audit.js';
import { Approver, identityKey, type Person } from '../approvals/types.js';

/**
 * The funding harvester's persisted state: on/off switch, open hedges, last decision per symbol, and hedge plans
 * with their approval status. A plan moves `pending → approved → executing → executed | failed` (or `pending →
 * rejected | expired`) by compare-and-set in Lua, so a double click, a second worker or a restart never executes one
 * twice; its legs carry client order ids derived from the plan id, so a resumed execution re-sends the same ids.
 * One plan per symbol is unfinished at a time; the symbol's slot names its last plan, so a run that decided on an
 * older state of the symbol (another run planned meanwhile) creates nothing. Entries in a symbol stop after
 * repeated failures until `/harvester start`.
 */

export const HedgeLeg = z.object({
  market: z.enum(['perp', 'spot']),
  symbol: z.string(),
  side: z.enum(['buy', 'sell']),
  quantity: z.number().positive(),
  reduceOnly: z.boolean(),
});
export type HedgeLeg = z.infer<typeof HedgeLeg>;

export const HedgePlan = z.object({
  id: z.string().regex(/^[a-z0-9]{4,32}$/),
  action: z.enum(['enter', 'exit', 'rebalance']),
  symbol: z.string(),
  spotSymbol: z.string(),
  /** Side of the perp leg of the hedge (short perp + long spot normally; long perp + short spot mirrored). */
  perpSide: z.enum(['short', 'long']),
  /** Legs in execution order; the second is unwound if the first filled and the second failed. */
  legs: z.array(HedgeLeg).min(1).max(2),
  leverage: z.number().min(1),
  mark: z.number().positive(),
  spot: z.number().positive(),
  annRate: z.number(),
  predictedAnnRate: z.number().nullable(),
  reason: z.string(),
  createdAt: z.number(),
});
export type HedgePlan = z.infer<typeof HedgePlan>;

export const PLAN_STATUSES = ['pending', 'approved', 'executing', 'executed', 'failed', 'rejected', 'expired'] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

export const PlanRecord = z.object({
  plan: HedgePlan,
  status: z.enum(PLAN_STATUSES),
  mode: z.enum(['propose', 'auto']),
  expiresAt: z.number(),
  approvers: z.array(Approver),
  required: z.number().int().min(1),
  decidedBy: z.string().nullable(),
  result: z.string().nullable(),
  updatedAt: z.number(),
});
export type PlanRecord = z.infer<typeof PlanRecord>;

export const Hedge = z.object({
  symbol: z.string(),
  spotSymbol: z.string(),
  perpSide: z.enum(['short', 'long']),
  perpQty: z.number().nonnegative(),
  spotQty: z.number().nonnegative(),
  openedAt: z.number(),
  entryAnnRate: z.number(),
  /** The last plan applied to this hedge (entry, rebalance, or the one that broke it). */
  planId: z.string(),
  /** `broken`: a leg failed and could not be unwound — nothing trades this symbol until a person decides. */
  status: z.enum(['open', 'broken']),
  note: z.string().optional(),
});
export type Hedge = z.infer<typeof Hedge>;

export const Decision = z.object({
  symbol: z.string(),
  action: z.string(),
  reason: z.string(),
  annRate: z.number().nullable(),
  at: z.number(),
  note: z.string().optional(),
});
export type Decision = z.infer<typeof Decision>;

/**
 * What an entry plan is unwinding and why, recorded before the unwind order is sent: `quantity` of the first leg
 * goes back, and `secondFilled` of the second leg stays (0 when the second leg failed outright).
 */
export const Unwind = z.object({
  why: z.string(),
  quantity: z.number().positive(),
  secondFilled: z.number().nonnegative(),
});
export type Unwind = z.infer<typeof Unwind>;

/** Entries in a symbol stopped after repeated failures, until `/harvester start`. */
export const EntryBlock = z.object({
  symbol: z.string(),
  since: z.number(),
  failures: z.number().int().positive(),
  reason: z.string(),
  planId: z.string(),
});
export type EntryBlock = z.infer<typeof EntryBlock>;

/** Failed entries in a row after which the harvester stops entering the symbol (each failure pays fees). */
export const ENTRY_FAILURES_BEFORE_BLOCK = 2;

/** The symbol's plan slot: the last plan created for it (final or not) and, if still unfinished, that plan. */
export interface PlanSlot {
  last: string | null;
  open: PlanRecord | null;
}

// A plan is a hash: `data` (the plan JSON, never rewritten), `status`, `mode`, `expiresAt`, `required`,
// `decidedBy`, `result`, `updatedAt`; approvers in a hash beside it (person key → Approver JSON, as for orders).
// Status changes and approvals run the order approvals' own Lua scripts (approvals/scripts.ts), so both state
// machines share one compare-and-set and write their audit entry in the same atomic step. The scripts touch only
// the small fields, so the plan's numbers are never re-encoded by Lua.

// KEYS[1] plan hash. ARGV: now, staleBefore. Takes over an `executing` plan untouched since staleBefore: bumping
// updatedAt in the same step means a second resumer (or the original runner's next heartbeat) sees it as owned.
const CLAIM_STALE = `
if redis.call('HGET', KEYS[1], 'status') ~= 'executing' then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'updatedAt') or '0') > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[1])
return 1
`;

// KEYS[1] plan hash. ARGV: field, value ('' = only touch), now. Writes on an `executing` plan only.
const MARK = `
if redis.call('HGET', KEYS[1], 'status') ~= 'executing' then return 0 end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[3])
return 1
`;

// KEYS[1] the symbol's plan slot, KEYS[2] the hash of the plan the caller saw in the slot (any key when none),
// KEYS[3] the new plan's hash, KEYS[4] the audit stream. ARGV: the slot id the caller decided on ('' = none), the
// new id, TTL seconds, the audit entry JSON ('' = none), audit MAXLEN, then the new plan's hash fields. The slot keeps the id of the symbol's last plan even once it is final, so it doubles
// as the version of the symbol's harvester state: a run that decided on an older version creates nothing.
const CREATE_PLAN = `
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return 'changed' end
if cur ~= '' then
  local st = redis.call('HGET', KEYS[2], 'status')
  if st == 'pending' or st == 'approved' or st == 'executing' then return 'open' end
end
if redis.call('EXISTS', KEYS[3]) == 1 then return 'exists' end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('HSET', KEYS[3], unpack(ARGV, 6))
redis.call('EXPIRE', KEYS[3], ARGV[3])
if ARGV[4] ~= '' then redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'e', ARGV[4]) end
return 'ok'
`;

// KEYS[1] failure counts (hash symbol → n), KEYS[2] blocks (hash symbol → JSON). ARGV: symbol, threshold, block
// JSON with __COUNT__ for n. Returns 1 when this failure blocked the symbol (so exactly one caller alerts).
const ENTRY_FAILED = `
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if n >= tonumber(ARGV[2]) and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  redis.call('HSET', KEYS[2], ARGV[1], (string.gsub(ARGV[3], '__COUNT__', tostring(n))))
  return 1
end
return 0
`;

const PLAN_TTL_S = 30 * 86_400;
const AUDIT_MAXLEN = 100_000;
const FINAL_PLAN_STATUSES: ReadonlySet<PlanStatus> = new Set(['executed', 'failed', 'rejected', 'expired']);
const ScriptReply = z.tuple([z.string(), z.union([z.string(), z.number()])]);

/** Audit entries an approval click writes, with `__COUNT__` standing for the approvals so far (filled in by Lua). */
export interface ApprovalAudit {
  recorded: AuditEntry;
  approved: AuditEntry;
}

export type ApproveResult = { kind: 'approved' | 'recorded' | 'duplicate' | 'conflict' | 'expired'; count: number; record: PlanRecord } | { kind: 'missing' };

export class HarvesterState {
  constructor(private readonly store: Store) {}

  #k(...parts: string[]): string {
    return key(this.store, 'harvester', ...parts);
  }

  get #auditKey(): string {
    return new AuditLog(this.store).streamKey;
  }

  /** Running unless someone ran `/harvester stop` (HARVESTER_MODE=off disables it regardless). */
  async enabled(): Promise<boolean> {
    return (await this.store.redis.get(this.#k('enabled'))) !== '0';
  }

  async setEnabled(on: boolean): Promise<void> {
    await this.store.redis.set(this.#k('enabled'), on ? '1' : '0');
  }

  async hedge(symbol: string): Promise<Hedge | null> {
    const raw = await this.store.redis.hget(this.#k('hedges'), symbol);
    return raw ? parse(Hedge, raw) : null;
  }

  async hedges(): Promise<Hedge[]> {
    return this.#values('hedges', Hedge);
  }

  /** Every value of one of the harvester's hashes that parses; a corrupt entry is left out, never guessed. */
  async #values<T>(hash: string, schema: z.ZodType<T>): Promise<T[]> {
    return Object.values(await this.store.redis.hgetall(this.#k(hash))).flatMap((r) => {
      const v = parse(schema, r);
      return v ? [v] : [];
    });
  }

  async putHedge(h: Hedge): Promise<void> {
    await this.store.redis.hset(this.#k('hedges'), h.symbol, JSON.stringify(Hedge.parse(h)));
  }

  async dropHedge(symbol: string): Promise<void> {
    await this.store.redis.hdel(this.#k('hedges'), symbol);
  }

  async recordDecision(d: Decision): Promise<void> {
    await this.store.redis.hset(this.#k('decisions'), d.symbol, JSON.stringify(Decision.parse(d)));
  }

  async decisions(): Promise<Decision[]> {
    return this.#values('decisions', Decision);
  }

  /**
   * Saves a new plan. Only one unfinished plan per symbol at a time, checked and claimed in one atomic step with
   * the plan's first audit entry (`audit`: proposed, or auto-approved), so a crash leaves no plan without it. Returns
   * null when another plan is still pending, approved or executing, or, given `decidedOn` (the slot's `last` the
   * caller read before deciding), when another plan was created for the symbol since that read.
   */
  async createPlan(
    rec: Omit<PlanRecord, 'updatedAt' | 'approvers' | 'decidedBy' | 'result'>,
    now: number,
    opts: { audit?: AuditEntry; decidedOn?: string | null } = {},
  ): Promise<PlanRecord | null> {
    const full: PlanRecord = PlanRecord.parse({ ...rec, approvers: [], decidedBy: null, result: null, updatedAt: now });
    const audit = opts.audit ? JSON.stringify(AuditEntry.parse(opts.audit)) : '';
    const fields = ['data', JSON.stringify(full.plan), 'status', full.status, 'mode', full.mode, 'expiresAt', String(full.expiresAt), 'required', String(full.required), 'updatedAt', String(now)];
    // Without a decision point the caller only needs the one-open-plan rule: re-read and retry when another run
    // moved the slot between our read and the script.
    for (let attempt = 0; attempt < 5; attempt++) {
      const seen = opts.decidedOn === undefined ? await this.store.redis.get(this.#k('open', full.plan.symbol)) : opts.decidedOn;
      const raw = await this.store.redis.eval(
        CREATE_PLAN, 4,
        this.#k('open', full.plan.symbol), this.#k('plan', seen ?? '-'), this.#k('plan', full.plan.id), this.#auditKey,
        seen ?? '', full.plan.id, String(PLAN_TTL_S), audit, String(AUDIT_MAXLEN), ...fields,
      );
      if (raw === 'ok') return full;
      if (raw !== 'changed' || opts.decidedOn !== undefined) return null;
    }
    return null;
  }

  async plan(id: string): Promise<PlanRecord | null> {
    const [h, approversRaw] = await Promise.all([
      this.store.redis.hgetall(this.#k('plan', id)),
      this.store.redis.hgetall(this.#k('plan', id, 'approvers')),
    ]);
    const approvers = Object.values(approversRaw)
      .flatMap((r) => {
        const a = parse(Approver, r);
        return a ? [a] : [];
      })
      .sort((a, b) => a.at - b.at || a.displayName.localeCompare(b.displayName));
    if (!h.data) return null;
    const plan = parse(HedgePlan, h.data);
    if (!plan) return null;
    const r = PlanRecord.safeParse({
      plan,
      status: h.status,
      mode: h.mode,
      expiresAt: Number(h.expiresAt),
      approvers,
      required: Number(h.required),
      decidedBy: h.decidedBy ?? null,
      result: h.result ?? null,
      updatedAt: Number(h.updatedAt),
    });
    return r.success ? r.data : null;
  }

  /** The symbol's last plan id and its record while unfinished (pending, approved or executing). */
  async planSlot(symbol: string): Promise<PlanSlot> {
    const last = await this.store.redis.get(this.#k('open', symbol));
    if (!last) return { last: null, open: null };
    const rec = await this.plan(last);
    const open = rec && (rec.status === 'pending' || rec.status === 'approved' || rec.status === 'executing') ? rec : null;
    return { last, open };
  }

  /** The symbol's unfinished plan (pending, approved or executing), if any. */
  async openPlanFor(symbol: string): Promise<PlanRecord | null> {
    return (await this.planSlot(symbol)).open;
  }

  /**
   * Compare-and-set of the plan's status; `audit`, when given, is appended in the same atomic step (people's
   * decisions are audited this way; the executor's own steps write their leg entries separately).
   */
  async transition(id: string, from: readonly PlanStatus[], to: PlanStatus, now: number, extra: { decidedBy?: string; result?: string; audit?: AuditEntry } = {}): Promise<{ ok: boolean; record: PlanRecord | null }> {
    const fields: string[] = ['updatedAt', String(now)];
    if (extra.decidedBy) fields.push('decidedBy', extra.decidedBy);
    if (extra.result) fields.push('result', extra.result);
    // KEYS[3] is the orders' open-approvals index in the shared script; plans keep theirs per symbol (`open:<symbol>`),
    // so it gets a key nothing else uses and the script's ZREM there is a no-op.
    const raw = await this.store.redis.eval(
      TRANSITION_LUA, 4,
      this.#k('plan', id), this.#k('plan', id, 'approvers'), this.#k('plans', 'unindexed'), this.#auditKey,
      from.join(','), to, FINAL_PLAN_STATUSES.has(to) ? '1' : '0', extra.audit ? JSON.stringify(extra.audit) : '', String(AUDIT_MAXLEN), id,
      String(PLAN_TTL_S), ...fields,
    );
    const [kind] = ScriptReply.parse(raw);
    return { ok: kind === 'ok', record: await this.plan(id) };
  }

  /** Takes over an `executing` plan nobody touched since `staleBefore` (its runner died); false when it is owned. */
  async claimStale(id: string, now: number, staleBefore: number): Promise<boolean> {
    return (await this.store.redis.eval(CLAIM_STALE, 1, this.#k('plan', id), now, staleBefore)) === 1;
  }

  /** Heartbeat of a running execution, so a slow run is not mistaken for an abandoned one. */
  async touch(id: string, now: number): Promise<boolean> {
    return (await this.store.redis.eval(MARK, 1, this.#k('plan', id), '', '', now)) === 1;
  }

  /**
   * Records, before the unwind order is sent, that the plan is unwinding its first leg, how much and why: a run
   * resumed after a crash then finishes the unwind instead of re-sending the second leg of a hedge being undone.
   */
  async markUnwinding(id: string, u: Unwind, now: number): Promise<boolean> {
    return (await this.store.redis.eval(MARK, 1, this.#k('plan', id), 'unwinding', JSON.stringify(Unwind.parse(u)), now)) === 1;
  }

  /**
   * What the plan is unwinding, or null when it is not. A record written before unwinds carried quantities is a
   * bare reason: `quantity` null means all of the first leg, nothing of the second.
   */
  async unwinding(id: string): Promise<(Omit<Unwind, 'quantity'> & { quantity: number | null }) | null> {
    const raw = await this.store.redis.hget(this.#k('plan', id), 'unwinding');
    if (raw === null) return null;
    return parse(Unwind, raw) ?? { why: raw, quantity: null, secondFilled: 0 };
  }

  /**
   * Counts a failed entry in `symbol`; the failure that reaches ENTRY_FAILURES_BEFORE_BLOCK in a row stops entries
   * there and gets the block back (exactly one caller does, so the alert goes out once).
   */
  async entryFailed(symbol: string, planId: string, reason: string, now: number): Promise<EntryBlock | null> {
    const block = JSON.stringify({ symbol, since: now, failures: '__COUNT__', reason, planId }).replace('"__COUNT__"', '__COUNT__');
    const blocked = await this.store.redis.eval(ENTRY_FAILED, 2, this.#k('entryfails'), this.#k('entryblocks'), symbol, String(ENTRY_FAILURES_BEFORE_BLOCK), block);
    return blocked === 1 ? this.entryBlock(symbol) : null;
  }

  /** A successful entry ends the run of failures. */
  async entrySucceeded(symbol: string): Promise<void> {
    await this.store.redis.hdel(this.#k('entryfails'), symbol);
  }

  async entryBlock(symbol: string): Promise<EntryBlock | null> {
    const raw = await this.store.redis.hget(this.#k('entryblocks'), symbol);
    return raw ? parse(EntryBlock, raw) : null;
  }

  async entryBlocks(): Promise<EntryBlock[]> {
    return this.#values('entryblocks', EntryBlock);
  }

  /** `/harvester start`: entries allowed again everywhere, failure counts from zero. Returns the symbols cleared. */
  async clearEntryBlocks(): Promise<string[]> {
    const res = await this.store.redis.multi().hkeys(this.#k('entryblocks')).del(this.#k('entryblocks'), this.#k('entryfails')).exec();
    const symbols: unknown = res?.[0]?.[1];
    return Array.isArray(symbols) ? symbols.map(String) : [];
  }

  /**
   * Adds a distinct approver to a pending plan with the orders' approve script: the one reaching `required` moves it
   * to `approved`, and the matching audit entry lands in the same step. A click at or past the deadline returns
   * `expired` without changing anything; the caller expires the plan (audited) through `transition`.
   */
  async approve(id: string, approver: Person, now: number, audit: ApprovalAudit, alsoKnownAs: readonly string[] = []): Promise<ApproveResult> {
    const raw = await this.store.redis.eval(
      APPROVE_LUA, 3,
      this.#k('plan', id), this.#k('plan', id, 'approvers'), this.#auditKey,
      identityKey(approver), JSON.stringify(Approver.parse({ ...approver, at: now })), await this.#required(id), String(now),
      JSON.stringify(audit.recorded), JSON.stringify(audit.approved), String(AUDIT_MAXLEN), ...alsoKnownAs,
    );
    const [kind, n] = ScriptReply.parse(raw);
    const record = await this.plan(id);
    if (kind === 'missing' || !record) return { kind: 'missing' };
    if (kind === 'approved' || kind === 'recorded' || kind === 'duplicate') {
      // Approvers live as long as their plan.
      await this.store.redis.expire(this.#k('plan', id, 'approvers'), PLAN_TTL_S);
      return { kind, count: Number(n), record };
    }
    return { kind: kind === 'expired' ? 'expired' : 'conflict', count: record.approvers.length, record };
  }

  async #required(id: string): Promise<string> {
    return (await this.store.redis.hget(this.#k('plan', id), 'required')) ?? '1';
  }
}

function parse<T>(schema: z.ZodType<T>, raw: string): T | null {
  try {
    const p = schema.safeParse(JSON.parse(raw));
    return p.success ? p.data : null;
  } catch {
    return null;
  }
}
