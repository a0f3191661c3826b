import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { AuditLog } from '../../src/services/audit.js';
import { ApprovalStore, SYSTEM, type NewApproval } from '../../src/services/approvals/store.js';
import { closeTestRedis, deletePrefix, testPrefix, testRedis } from '../support/redis.js';

let redis: Redis;
let prefix: string;
let store: ApprovalStore;
let audit: AuditLog;

const T0 = 1_700_000_000_000;
const alice = { platform: 'discord', userId: '1', displayName: 'Alice' } as const;
const bob = { platform: 'discord', userId: '2', displayName: 'Bob' } as const;
const carol = { platform: 'telegram', userId: '3', displayName: 'Carol' } as const;

function input(over: Partial<NewApproval> = {}): NewApproval {
  return {
    createdAt: T0,
    expiresAt: T0 + 120_000,
    requester: alice,
    chatId: 'c',
    required: 1,
    selfApprovalAllowed: false,
    plan: {
      kind: 'open', symbol: 'BTC-PERP', base: 'BTC', positionSide: 'long', side: 'buy', orderType: 'market', quantity: 0.015,
      price: null, leverage: 2, reduceOnly: false, notional: 975, refMark: 65_000, tickSize: 0.1, lotSize: 0.001,
    },
    view: { title: 't', fields: [], text: 'checks' },
    ...over,
  };
}

beforeEach(() => {
  redis = testRedis();
  prefix = testPrefix();
  audit = new AuditLog({ redis, prefix });
  store = new ApprovalStore({ redis, prefix }, audit);
});

afterEach(async () => {
  await deletePrefix(redis, prefix);
  await closeTestRedis();
});

describe('ApprovalStore', () => {
  it('creates a pending approval with its audit entry and refuses a duplicate id', async () => {
    const rec = await store.create(input({ id: 'a1' }));
    expect(rec.status).toBe('pending');
    expect(await store.get('a1')).toMatchObject({ status: 'pending', approvers: [], plan: { quantity: 0.015 } });
    expect(await store.openIds()).toEqual(['a1']);
    await expect(store.create(input({ id: 'a1' }))).rejects.toThrow('already exists');
    expect((await audit.latest(10)).map((e) => e.action)).toEqual(['order.requested']);
  });

  it('keeps an open approval in Redis for as long as it is open, and starts retention only once it is final', async () => {
    await store.create(input({ id: 'a9' }));
    const k = `${prefix}:approval:a9`;
    expect(await redis.ttl(k)).toBe(-1);
    await store.approve('a9', bob, T0 + 1);
    await store.transition('a9', ['approved'], 'submitted', T0 + 2, { action: 'order.submitted', detail: 'd', cause: SYSTEM });
    expect(await redis.ttl(k)).toBe(-1); // a resting limit order may stay open for months
    await store.transition('a9', ['submitted'], 'filled', T0 + 3, { action: 'order.filled', detail: 'd', cause: SYSTEM });
    const ttl = await redis.ttl(k);
    expect(ttl).toBeGreaterThan(29 * 86_400);
    expect(ttl).toBeLessThanOrEqual(30 * 86_400);
  });

  it('lets exactly one of many concurrent transitions win, and audits only the winner', async () => {
    await store.create(input({ id: 'a2' }));
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      store.transition('a2', ['pending'], i % 2 ? 'rejected' : 'expired', T0 + i, { action: `t${i}`, detail: 'd', cause: SYSTEM })));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const actions = (await audit.latest(50)).map((e) => e.action);
    expect(actions.filter((a) => a.startsWith('t'))).toHaveLength(1);
    // A final approval leaves the open set.
    expect(await store.openIds()).toEqual([]);
  });

  it('refuses a transition from the wrong state and reports the current one', async () => {
    await store.create(input({ id: 'a3' }));
    const r = await store.transition('a3', ['approved'], 'submitted', T0, { action: 'order.submitted', detail: 'd', cause: SYSTEM });
    expect(r).toMatchObject({ ok: false, current: { status: 'pending' } });
    expect(await store.transition('nope', ['pending'], 'expired', T0, { action: 'x', detail: 'd', cause: SYSTEM })).toEqual({ ok: false, current: null });
  });

  it('collects distinct approvers atomically and approves at the required count', async () => {
    await store.create(input({ id: 'a4', required: 2 }));
    const clicks = await Promise.all([bob, bob, bob, carol, carol].map((p) => store.approve('a4', p, T0 + 1000)));
    expect(clicks.filter((c) => c.kind === 'approved')).toHaveLength(1);
    expect(clicks.filter((c) => c.kind === 'recorded')).toHaveLength(1);
    expect(clicks.filter((c) => c.kind === 'duplicate' || c.kind === 'conflict')).toHaveLength(3);
    const rec = await store.get('a4');
    expect(rec?.status).toBe('approved');
    expect(rec?.approvers.map((a) => a.displayName).sort()).toEqual(['Bob', 'Carol']);
    const details = (await audit.latest(10)).filter((e) => e.action.startsWith('order.approv')).map((e) => e.detail);
    expect(details.some((d) => d.startsWith('approval 1 of 2'))).toBe(true);
    expect(details.some((d) => d.startsWith('approval 2 of 2, order approved'))).toBe(true);
  });

  it('refuses an approval at or after the deadline inside the atomic step', async () => {
    await store.create(input({ id: 'a5' }));
    expect((await store.approve('a5', bob, T0 + 120_000)).kind).toBe('expired');
    expect((await store.get('a5'))?.status).toBe('pending');
    expect((await store.expire((await store.get('a5'))!, T0 + 120_000)).ok).toBe(true);
    expect((await store.approve('a5', bob, T0 + 1)).kind).toBe('conflict');
  });

  it('treats an unreadable record as unknown', async () => {
    await redis.hset(`${prefix}:approval:bad`, 'status', 'pending', 'data', '{not json');
    expect(await store.get('bad')).toBeNull();
    expect((await store.approve('bad', bob, T0)).kind).toBe('missing');
  });

  it('reads and changes an approval in one EVALSHA each once warm: no script body, no MULTI, no read after a change', async () => {
    const monitor = testRedis();
    const seen: string[][] = [];
    (await monitor.monitor()).on('monitor', (_t: string, args: string[], source: string) => {
      // Commands sent by clients, not those a script runs inside Redis.
      if (source !== 'lua' && args.some((a) => a.startsWith(prefix))) seen.push(args);
    });
    const cycle = async (id: string) => {
      await store.create(input({ id }));
      const rec = (await store.get(id))!;
      const approved = await store.approve(rec, bob, T0 + 1);
      // The record after the change comes with the answer of the same atomic step.
      expect(approved).toMatchObject({ kind: 'approved', count: 1, record: { status: 'approved', approvers: [{ displayName: 'Bob' }] } });
      expect(await store.transition(id, ['approved'], 'submitted', T0 + 2, { action: 'order.submitted', detail: 'd', cause: SYSTEM }))
        .toMatchObject({ ok: true, record: { status: 'submitted', approvers: [{ displayName: 'Bob' }], updatedAt: T0 + 2 } });
    };
    await cycle('w1'); // each script's first use on this connection sends its body
    await redis.ping();
    await new Promise((r) => setTimeout(r, 50));
    seen.length = 0;
    await cycle('w2');
    await redis.ping();
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.map((a) => a[0]!.toLowerCase())).toEqual(['evalsha', 'evalsha', 'evalsha', 'evalsha']);
  });
});
