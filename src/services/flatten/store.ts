/**
 * Flattens persisted in Redis, with the approval state machine's own Lua scripts (create, approve with distinct
 * approvers and the deadline checked atomically, compare-and-set transitions that write their audit entry in the same
 * step) over the flatten's keys, and its legs: a hash of leg index → leg, written before each leg is acted on. A
 * runner claim keeps one process executing a flatten at a time; a crashed runner's claim lapses and the sweep resumes.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AuditEntry, AuditLog } from '../audit.js';
import { APPROVAL_SCRIPTS } from '../approvals/scripts.js';
import { causeOf, type Cause } from '../approvals/store.js';
import { Approver, identityKey, type Person } from '../approvals/types.js';
import { LuaScript } from '../../queues/lua-script.js';
import { key, type Store } from '../store.js';
import { utc } from '../../format.js';
import {
  FLATTEN_FINAL, FLATTEN_STATUSES, FlattenData, FlattenLeg, type FlattenRecord, type FlattenStatus,
} from './types.js';
import { hashOf, parseJson } from '../stored-values.js';

export * from './types.js';

const RETENTION_SECONDS = 30 * 86_400;
const AUDIT_MAXLEN = 100_000;

/**
 * Writes the execution's legs once. KEYS: 1 legs hash. ARGV: leg JSON, one per leg, in order.
 * Returns 1 when written, 0 when the legs were already planned (a resumed run keeps the first plan).
 */
const PLAN_LEGS_LUA = `
if redis.call('HEXISTS', KEYS[1], 'n') == 1 then return 0 end
for i = 1, #ARGV do redis.call('HSET', KEYS[1], tostring(i - 1), ARGV[i]) end
redis.call('HSET', KEYS[1], 'n', tostring(#ARGV))
return 1
`;
const PLAN_LEGS = new LuaScript('pdFlattenPlanLegs', PLAN_LEGS_LUA, 1);

/**
 * The runner claim: `<token>:<expires at>` by the desk's clock (so a test clock can age it), with a Redis expiry far
 * beyond that as a safety net. KEYS: 1 claim. ARGV: 1 token, 2 now ms, 3 ttl ms, 4 '1' to take a free or lapsed
 * claim, '0' to refresh only the holder's. Returns 1 when the caller holds the claim after the call.
 */
const CLAIM_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local holder, exp = string.match(cur, '^(.*):(%d+)$')
  local mine = holder == ARGV[1]
  if not mine and (ARGV[4] ~= '1' or (exp and tonumber(exp) > tonumber(ARGV[2]))) then return 0 end
elseif ARGV[4] ~= '1' then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. tostring(tonumber(ARGV[2]) + tonumber(ARGV[3])), 'PX', tostring(tonumber(ARGV[3]) * 20))
return 1
`;
const CLAIM = new LuaScript('pdFlattenClaim', CLAIM_LUA, 1);
const RELEASE_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, #ARGV[1] + 1) == ARGV[1] .. ':' then return redis.call('DEL', KEYS[1]) end
return 0
`;
const RELEASE = new LuaScript('pdFlattenRelease', RELEASE_LUA, 1);

const FlatHash = z.array(z.string());
const ScriptReply = z.tuple([z.string(), z.union([z.string(), z.number()]), FlatHash, FlatHash]);
const ReadReply = z.tuple([FlatHash, FlatHash]);
const Status = z.enum(FLATTEN_STATUSES);

export function newFlattenId(now: number): string {
  return `f${Math.floor(now).toString(36)}${randomBytes(4).toString('hex')}`;
}

export type FlattenTransition = { ok: true; record: FlattenRecord } | { ok: false; current: FlattenRecord | null };

export type FlattenApproveOutcome =
  | { kind: 'approved' | 'recorded' | 'duplicate'; count: number; record: FlattenRecord }
  | { kind: 'expired' | 'conflict'; record: FlattenRecord }
  | { kind: 'missing' };

/** One line naming the flatten, for audit entries. */
export function flattenWords(d: Pick<FlattenData, 'cancels' | 'closes' | 'reason'>): string {
  const closes = d.closes.map((c) => `${c.side} ${c.size} ${c.symbol}`).join(', ');
  return `flatten (${d.reason}): cancel ${d.cancels.length} resting order(s), close ${d.closes.length} position(s)${closes ? ` [${closes}]` : ''}`;
}

export class FlattenStore {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
  ) {}

  #key(id: string): string {
    return key(this.store, 'flatten', id);
  }

  #approversKey(id: string): string {
    return key(this.store, 'flatten', id, 'approvers');
  }

  #legsKey(id: string): string {
    return key(this.store, 'flatten', id, 'legs');
  }

  #runnerKey(id: string): string {
    return key(this.store, 'flatten', id, 'runner');
  }

  get #openKey(): string {
    return key(this.store, 'flattens', 'open');
  }

  async create(input: Omit<FlattenData, 'id'> & { id?: string }): Promise<FlattenRecord> {
    const data = FlattenData.parse({ ...input, id: input.id ?? newFlattenId(input.createdAt) });
    const entry: AuditEntry = {
      ts: data.createdAt, ...causeOf(data.requester), action: 'flatten.requested', subject: data.id,
      detail: `${flattenWords(data)}; needs ${data.required} approval(s) before ${utc(data.expiresAt)}`,
    };
    const created = await APPROVAL_SCRIPTS.create.run(this.store.redis, [this.#key(data.id), this.#openKey, this.audit.streamKey], [
      JSON.stringify(data), String(data.expiresAt), String(data.createdAt), data.id, JSON.stringify(entry), String(AUDIT_MAXLEN),
    ]);
    if (created !== 1) throw new Error(`flatten id ${data.id} already exists`);
    return { ...data, status: 'pending', approvers: [], decidedBy: null, endReason: null, result: null, updatedAt: data.createdAt };
  }

  async get(id: string): Promise<FlattenRecord | null> {
    const [h, a] = ReadReply.parse(await APPROVAL_SCRIPTS.read.run(this.store.redis, [this.#key(id), this.#approversKey(id)], []));
    return parseRecord(hashOf(h), hashOf(a));
  }

  /** Flattens not final yet, oldest first. */
  openIds(): Promise<string[]> {
    return this.store.redis.zrange(this.#openKey, '0', '-1');
  }

  async transition(
    id: string, from: readonly FlattenStatus[], to: FlattenStatus, now: number,
    change: { action: string; detail: string; cause: Cause; decidedBy?: string; endReason?: string; result?: string },
  ): Promise<FlattenTransition> {
    const fields: string[] = ['updatedAt', String(now)];
    if (change.decidedBy !== undefined) fields.push('decidedBy', change.decidedBy);
    if (change.endReason !== undefined) fields.push('endReason', change.endReason);
    if (change.result !== undefined) fields.push('result', change.result);
    const entry: AuditEntry = { ts: now, ...change.cause, action: change.action, subject: id, detail: change.detail };
    const final = FLATTEN_FINAL.has(to);
    const raw = await APPROVAL_SCRIPTS.transition.run(this.store.redis, [this.#key(id), this.#approversKey(id), this.#openKey, this.audit.streamKey], [
      from.join(','), to, final ? '1' : '0', JSON.stringify(entry), String(AUDIT_MAXLEN), id, String(RETENTION_SECONDS), ...fields,
    ]);
    const [kind, , h, a] = ScriptReply.parse(raw);
    const record = parseRecord(hashOf(h), hashOf(a));
    if (kind === 'ok' && final) await this.store.redis.expire(this.#legsKey(id), RETENTION_SECONDS);
    if (kind === 'ok' && record) return { ok: true, record };
    return { ok: false, current: record };
  }

  async approve(rec: FlattenData, approver: Person, now: number, alsoKnownAs: readonly string[] = []): Promise<FlattenApproveOutcome> {
    const base = { ts: now, ...causeOf(approver), subject: rec.id };
    const recorded: AuditEntry = { ...base, action: 'flatten.approval_recorded', detail: `approval __COUNT__ of ${rec.required}: ${flattenWords(rec)}` };
    const approved: AuditEntry = { ...base, action: 'flatten.approved', detail: `approval __COUNT__ of ${rec.required}, flatten approved: ${flattenWords(rec)}` };
    const raw = await APPROVAL_SCRIPTS.approve.run(this.store.redis, [this.#key(rec.id), this.#approversKey(rec.id), this.audit.streamKey], [
      identityKey(approver), JSON.stringify(Approver.parse({ ...approver, at: now })), String(rec.required), String(now),
      JSON.stringify(recorded), JSON.stringify(approved), String(AUDIT_MAXLEN), ...alsoKnownAs,
    ]);
    const [kind, n, h, a] = ScriptReply.parse(raw);
    const record = parseRecord(hashOf(h), hashOf(a));
    if (!record) return { kind: 'missing' };
    if (kind === 'approved' || kind === 'recorded' || kind === 'duplicate') return { kind, count: Number(n), record };
    if (kind === 'expired') return { kind: 'expired', record };
    return { kind: 'conflict', record };
  }

  /** Writes the execution's legs unless a run already did; returns the legs as stored. */
  async planLegs(id: string, legs: FlattenLeg[]): Promise<FlattenLeg[]> {
    await PLAN_LEGS.run(this.store.redis, [this.#legsKey(id)], legs.map((l) => JSON.stringify(FlattenLeg.parse(l))));
    return (await this.legs(id)) ?? [];
  }

  /** The planned legs in order, or null before the execution planned them. */
  async legs(id: string): Promise<FlattenLeg[] | null> {
    const h = await this.store.redis.hgetall(this.#legsKey(id));
    if (!h.n) return null;
    const out: FlattenLeg[] = [];
    for (let i = 0; i < Number(h.n); i++) {
      const p = FlattenLeg.safeParse(parseJson(h[String(i)]));
      if (!p.success) throw new Error(`flatten ${id}: leg ${i} is unreadable`);
      out.push(p.data);
    }
    return out;
  }

  async putLeg(id: string, leg: FlattenLeg): Promise<void> {
    await this.store.redis.hset(this.#legsKey(id), String(leg.index), JSON.stringify(FlattenLeg.parse(leg)));
  }

  /** Writes a leg's outcome and its audit entry in one transaction: a crash cannot keep one without the other. */
  async endLeg(id: string, leg: FlattenLeg, entry: AuditEntry): Promise<void> {
    const r = await this.store.redis
      .multi()
      .hset(this.#legsKey(id), String(leg.index), JSON.stringify(FlattenLeg.parse(leg)))
      .xadd(this.audit.streamKey, 'MAXLEN', '~', String(AUDIT_MAXLEN), '*', 'e', JSON.stringify(entry))
      .exec();
    const failed = r?.find(([err]) => err);
    if (!r || failed) throw failed?.[0] ?? new Error(`flatten ${id}: leg ${leg.index} was not written`);
  }

  /**
   * Claims the right to execute until `now + ttlMs`; `token` identifies the runner. False while another runner's
   * claim has not lapsed (a runner that died stops renewing it).
   */
  async claimRunner(id: string, token: string, now: number, ttlMs: number): Promise<boolean> {
    return (await CLAIM.run(this.store.redis, [this.#runnerKey(id)], [token, now, ttlMs, '1'])) === 1;
  }

  /** Renews the holder's claim; false when it lapsed and another runner took it. */
  async touchRunner(id: string, token: string, now: number, ttlMs: number): Promise<boolean> {
    return (await CLAIM.run(this.store.redis, [this.#runnerKey(id)], [token, now, ttlMs, '0'])) === 1;
  }

  async releaseRunner(id: string, token: string): Promise<void> {
    await RELEASE.run(this.store.redis, [this.#runnerKey(id)], [token]);
  }
}



function parseRecord(h: Record<string, string>, approversRaw: Record<string, string>): FlattenRecord | null {
  if (!h.status) return null;
  const status = Status.safeParse(h.status);
  const data = FlattenData.safeParse(parseJson(h.data));
  if (!status.success || !data.success) return null;
  const approvers = Object.values(approversRaw)
    .flatMap((r) => {
      const p = Approver.safeParse(parseJson(r));
      return p.success ? [p.data] : [];
    })
    .sort((a, b) => a.at - b.at || a.displayName.localeCompare(b.displayName));
  return {
    ...data.data,
    status: status.data,
    approvers,
    decidedBy: h.decidedBy ?? null,
    endReason: h.endReason ?? null,
    result: h.result ?? null,
    updatedAt: Number(h.updatedAt ?? data.data.createdAt),
  };
}
