import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { OutcomeUnknownError, RESUME_AFTER_MS, legClientId } from '../../src/services/harvester/hedge-executor.js';
import { redisUrl } from '../support/redis.js';
import { hedgeHarness, T0, type HedgeHarness } from './hedge-harness.js';
import { approvedEntry, filled } from './hedge-stand-in.js';

let current: HedgeHarness | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function setup(): Promise<HedgeHarness> {
  current = await hedgeHarness();
  return current;
}

describe('hedge executor', () => {
  it('when the first leg rests unfilled and its cancel fails, should keep the plan executing and finish it on resume', async () => {
    const x = await setup();
    await approvedEntry(x.redis, x.prefix, 'plana', T0);
    x.s.onNew = (body, market) => (market === 'perp' ? filled(body, 1, 0) : filled(body, 2));
    x.s.onCancel = () => ({ status: 503, body: { error: { code: 'unavailable', message: 'try later' } } });

    await expect(x.executor().run('plana')).rejects.toBeInstanceOf(OutcomeUnknownError);
    // The resting order may still fill: a clean "failed" here would hide a naked perp leg.
    expect((await x.harvester.plan('plana'))?.status).toBe('executing');
    expect(x.s.posts('spot')).toHaveLength(0);

    // It filled after all; the resumed run finds it by the same client_order_id and completes the hedge.
    x.s.book.set(legClientId('plana', 0), filled({ ...x.s.posts('perp')[0]! }, 1));
    x.clock.now = T0 + RESUME_AFTER_MS;
    const done = await x.executor().run('plana', { resume: true });
    expect(done?.status).toBe('executed');
    expect(x.s.posts('perp')).toHaveLength(2);
    expect(x.s.posts('perp').map((b) => b.client_order_id)).toEqual([legClientId('plana', 0), legClientId('plana', 0)]);
    expect(x.s.posts('spot').map((b) => b.quantity)).toEqual([1]);
    expect((await x.harvester.hedge('BTC-PERP'))?.perpQty).toBe(1);
  });

  it('when the cancel of the first leg reports a partial fill, should hedge what filled instead of failing', async () => {
    const x = await setup();
    await approvedEntry(x.redis, x.prefix, 'planb', T0);
    x.s.onNew = (body, market) => (market === 'perp' ? filled(body, 1, 0) : filled(body, 2));
    x.s.onCancel = (o) => ({ ...o, status: 'canceled', filled_quantity: 0.4, avg_price: 65_000 });

    const done = await x.executor().run('planb');
    expect(done?.status).toBe('executed');
    expect(x.s.posts('spot').map((b) => b.quantity)).toEqual([0.4]);
    expect(await x.harvester.hedge('BTC-PERP')).toMatchObject({ status: 'open', perpQty: 0.4, spotQty: 0.4 });
  });

  it('when the process dies while unwinding the first leg, should finish the unwind on resume and never re-send the second leg', async () => {
    const x = await setup();
    await approvedEntry(x.redis, x.prefix, 'planc', T0);
    let spotCalls = 0;
    // The spot venue refuses the first time only: a re-sent second leg would fill against an unwound perp leg.
    x.s.onNew = (body, market) => {
      if (market === 'spot' && ++spotCalls === 1) return { status: 400, body: { error: { code: 'insufficient_balance', message: 'insufficient spot balance' } } };
      return filled(body, 10 + x.s.book.size);
    };
    let child: ChildProcess | undefined;
    const killedAtUnwind = new Promise<void>((resolve) => {
      const place = x.s.onNew;
      x.s.onNew = (body, market) => {
        const r = place(body, market);
        if (String(body.client_order_id) === legClientId('planc', 0, true)) {
          child?.kill('SIGKILL');
          resolve();
        }
        return r;
      };
    });
    child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./hedge-crash-child.ts', import.meta.url))], {
      env: { ...process.env, PD_REDIS_URL: redisUrl(), PD_PREFIX: x.prefix, PD_EXCHANGE_URL: x.s.ex.url, PD_PLAN: 'planc', PD_CLOCK: String(T0) },
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child!.on('exit', (code, sig) => resolve(sig ?? code)));
    await killedAtUnwind;
    expect(await exited).toBe('SIGKILL');
    expect((await x.harvester.plan('planc'))?.status).toBe('executing');

    x.clock.now = T0 + RESUME_AFTER_MS;
    const done = await x.executor().run('planc', { resume: true });
    expect(done?.status).toBe('failed');
    expect(done?.result).toMatch(/insufficient spot balance; the first leg \(perp sell 1\) was unwound/);
    expect(x.s.posts('spot')).toHaveLength(1);
    expect(await x.harvester.hedge('BTC-PERP')).toBeNull();
  });

  it('when two runs resume the same abandoned plan at once, should let only one of them execute it', async () => {
    const x = await setup();
    await approvedEntry(x.redis, x.prefix, 'pland', T0);
    expect((await x.harvester.transition('pland', ['approved'], 'executing', T0)).ok).toBe(true);
    x.clock.now = T0 + RESUME_AFTER_MS;
    const [a, b] = await Promise.all([x.executor().run('pland', { resume: true }), x.executor().run('pland', { resume: true })]);
    expect([a?.status, b?.status].sort()).toEqual(['executed', 'executing']);
    expect(x.s.posts('perp')).toHaveLength(1);
    expect(x.s.posts('spot')).toHaveLength(1);
  });
});
