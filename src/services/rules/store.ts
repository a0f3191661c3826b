import { z } from 'zod';
import { LuaScript } from '../../queues/lua-script.js';
import { key, type Store } from '../store.js';
import { Destination, destKey } from '../alerts/types.js';
import type { AlertRule } from '../../domain/alert-rules.js';
import { parseStored } from '../stored-values.js';

/** A chat may keep this many rules; the next one is refused with a message, never dropped. */
export const MAX_RULES_PER_CHAT = 50;

const Target = z.object({ symbol: z.string(), venue: z.string().optional() });
const Op = z.enum(['>', '<']);
export const AlertRuleSchema: z.ZodType<AlertRule> = z.union([
  z.object({ metric: z.enum(['funding', 'funding_apr', 'price']), target: Target, op: Op, threshold: z.number() }),
  z.object({ metric: z.literal('buffer'), op: Op, threshold: z.number() }),
  z.object({ metric: z.literal('oi'), target: Target, windowMinutes: z.number().int().positive(), op: Op, threshold: z.number() }),
]) as z.ZodType<AlertRule>;

export const StoredRule = z.object({
  id: z.string(),
  /** Canonical text (formatRule), symbol resolved. */
  text: z.string(),
  rule: AlertRuleSchema,
  /** The chat that owns the rule: the only one its alerts go to. */
  dest: Destination,
  by: z.string(),
  at: z.number(),
});
export type StoredRule = z.infer<typeof StoredRule>;

/** What the evaluation job remembers of a rule between samples. */
export const RuleState = z.object({
  armed: z.boolean(),
  /** How many times it fired; the alert of the n-th firing is keyed by n, so a re-run after a crash is one alert. */
  fires: z.number().int().nonnegative(),
  lastValue: z.number().nullable(),
  lastAt: z.number().nullable(),
  firedAt: z.number().nullable(),
});
export type RuleState = z.infer<typeof RuleState>;

export const NEW_RULE_STATE: RuleState = { armed: true, fires: 0, lastValue: null, lastAt: null, firedAt: null };

const ID_PLACEHOLDER = '__RULE_ID__';

/** Adds a rule unless the chat has it already or is full; the id comes from the chat's counter (never reused). */
const ADD = new LuaScript('pdRuleAdd', `
local existing = redis.call('HGET', KEYS[2], ARGV[2])
if existing then return {'dup', existing} end
local n = redis.call('HLEN', KEYS[1])
if n >= tonumber(ARGV[1]) then return {'full', tostring(n)} end
local id = 'r' .. redis.call('INCR', KEYS[3])
local json = string.gsub(ARGV[3], '"${ID_PLACEHOLDER}"', '"' .. id .. '"', 1)
redis.call('HSET', KEYS[1], id, json)
redis.call('HSET', KEYS[2], ARGV[2], id)
redis.call('HSET', KEYS[4], ARGV[4], ARGV[5])
return {'ok', id}
`, 4);

/** Removes a rule with its text index and state; a chat without rules leaves the index of chats. */
const REMOVE = new LuaScript('pdRuleRemove', `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local text = cjson.decode(raw)['text']
redis.call('HDEL', KEYS[1], ARGV[1])
if text then redis.call('HDEL', KEYS[2], text) end
redis.call('HDEL', KEYS[4], ARGV[2] .. '|' .. ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('HDEL', KEYS[3], ARGV[2]) end
return raw
`, 4);

/** Saves a rule's state only while the rule exists, so a run that overlaps a removal leaves nothing behind. */
const SAVE_STATE = new LuaScript('pdRuleState', `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
`, 2);

export type AddOutcome = { kind: 'added'; rule: StoredRule } | { kind: 'duplicate'; id: string } | { kind: 'full'; count: number };

const AddReply = z.tuple([z.enum(['ok', 'dup', 'full']), z.string()]);

/**
 * Alert rules per chat in Redis: one hash of rules per chat (field = rule id), a text index to refuse the same rule
 * twice, the chats that have rules, and every rule's evaluation state in one hash (`<chat>|<id>`).
 */
export class RuleStore {
  constructor(private readonly store: Store) {}

  #k(...parts: string[]): string {
    return key(this.store, 'rules', ...parts);
  }

  #chatKeys(dest: Pick<Destination, 'platform' | 'chatId'>) {
    const d = destKey(dest as Destination);
    return { d, rules: this.#k('chat', d), text: this.#k('text', d), seq: this.#k('seq', d) };
  }

  get #chatsKey(): string {
    return this.#k('chats');
  }

  get #stateKey(): string {
    return this.#k('state');
  }

  async add(dest: Destination, text: string, rule: AlertRule, by: string, at: number): Promise<AddOutcome> {
    const c = this.#chatKeys(dest);
    const stored: StoredRule = StoredRule.parse({ id: ID_PLACEHOLDER, text, rule, dest, by, at });
    const reply = AddReply.parse(await ADD.run(this.store.redis, [c.rules, c.text, c.seq, this.#chatsKey], [
      MAX_RULES_PER_CHAT, text, JSON.stringify(stored), c.d, JSON.stringify(dest),
    ]));
    if (reply[0] === 'dup') return { kind: 'duplicate', id: reply[1] };
    if (reply[0] === 'full') return { kind: 'full', count: Number(reply[1]) };
    return { kind: 'added', rule: { ...stored, id: reply[1] } };
  }

  async remove(dest: Pick<Destination, 'platform' | 'chatId'>, id: string): Promise<StoredRule | null> {
    const c = this.#chatKeys(dest);
    const raw = await REMOVE.run(this.store.redis, [c.rules, c.text, this.#chatsKey, this.#stateKey], [id, c.d]);
    return typeof raw === 'string' ? parseStored(StoredRule, raw) : null;
  }

  /** The chat's rules in the order they were added. */
  async list(dest: Pick<Destination, 'platform' | 'chatId'>): Promise<StoredRule[]> {
    const all = await this.store.redis.hvals(this.#chatKeys(dest).rules);
    return sortRules(all.flatMap((raw) => parseStored(StoredRule, raw) ?? []));
  }

  /** Every chat's rules, for the evaluation job. */
  async all(): Promise<StoredRule[]> {
    const chats = await this.store.redis.hkeys(this.#chatsKey);
    if (!chats.length) return [];
    const pipe = this.store.redis.pipeline();
    for (const d of chats) pipe.hvals(this.#k('chat', d));
    const replies = (await pipe.exec()) ?? [];
    return replies.flatMap(([err, vals]) => (err ? [] : sortRules((vals as string[]).flatMap((raw) => parseStored(StoredRule, raw) ?? []))));
  }

  async states(): Promise<Map<string, RuleState>> {
    const all = await this.store.redis.hgetall(this.#stateKey);
    const out = new Map<string, RuleState>();
    for (const [f, raw] of Object.entries(all)) {
      const s = parseStored(RuleState, raw);
      if (s) out.set(f, s);
    }
    return out;
  }

  /**
   * Moves a chat's rules to its new id (a Telegram group upgraded to a supergroup) with their states; they get the
   * new chat's ids. Returns how many moved.
   */
  async move(from: Destination, to: Destination): Promise<number> {
    const rules = await this.list(from);
    const states = await this.statesOf(rules);
    let moved = 0;
    for (const r of rules) {
      const added = await this.add(to, r.text, r.rule, r.by, r.at);
      const state = states.get(stateField(r));
      if (added.kind === 'added' && state) await this.saveStates([{ rule: added.rule, state }]);
      // A rule the new chat already has (or cannot take) is not kept twice under the old id either.
      await this.remove(from, r.id);
      if (added.kind === 'added') moved++;
    }
    return moved;
  }

  /** The states of these rules only (one chat's list), by state field. */
  async statesOf(rules: readonly StoredRule[]): Promise<Map<string, RuleState>> {
    const out = new Map<string, RuleState>();
    if (!rules.length) return out;
    const fields = rules.map(stateField);
    const raws = await this.store.redis.hmget(this.#stateKey, ...fields);
    raws.forEach((raw, i) => {
      const s = raw === null ? null : parseStored(RuleState, raw);
      if (s) out.set(fields[i]!, s);
    });
    return out;
  }

  async saveStates(items: readonly { rule: StoredRule; state: RuleState }[]): Promise<void> {
    if (!items.length) return;
    await SAVE_STATE.runMany(this.store.redis, items.map(({ rule, state }) => ({
      keys: [this.#chatKeys(rule.dest).rules, this.#stateKey],
      args: [rule.id, stateField(rule), JSON.stringify(state)],
    })));
  }

  /** States whose rule is gone (removed between a run's read and write) are dropped. */
  async dropStates(fields: readonly string[]): Promise<void> {
    if (fields.length) await this.store.redis.hdel(this.#stateKey, ...fields);
  }
}

export function stateField(rule: Pick<StoredRule, 'id' | 'dest'>): string {
  return `${destKey(rule.dest)}|${rule.id}`;
}

function sortRules(rules: StoredRule[]): StoredRule[] {
  return rules.sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)));
}

