/**
 * Console buttons live in the process's memory: after a restart, `/approvals` lists the open approvals and offers
 * their Approve / Reject again, so an operator at the terminal can still act on them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actor, buildTestDesk, pipes, type TestDesk } from '../support/desk.js';
import { ConsoleTransport } from '../../src/transports/console.js';

let t: TestDesk;
beforeAll(async () => {
  t = await buildTestDesk();
});
afterAll(async () => t.close());

async function typed(c: ConsoleTransport, io: ReturnType<typeof pipes>, line: string): Promise<string> {
  const before = io.text().length;
  io.input.write(`${line}\n`);
  await new Promise((r) => setImmediate(r));
  await c.idle();
  return io.text().slice(before);
}

describe('/approvals', () => {
  it('lets the console approve a preview made before a restart', async () => {
    const io1 = pipes();
    const c1 = new ConsoleTransport({ desk: t.desk, input: io1.input, output: io1.output });
    c1.start();
    const preview = await typed(c1, io1, '/order BTC-PERP long 1000 2');
    expect(preview).toMatch(/Approve/);
    const [id] = await t.ctx.approvals.openIds();
    expect(id).toBeDefined();
    await c1.close(); // "restart": the new console has no buttons in memory

    const io2 = pipes();
    const c2 = new ConsoleTransport({ desk: t.desk, input: io2.input, output: io2.output });
    c2.start();
    expect(await typed(c2, io2, 'approve')).toMatch(/Not a command/);
    const list = await typed(c2, io2, '/approvals');
    expect(list).toContain(id!);
    expect(list).toMatch(/pending/);
    expect(list).toContain(`Approve ${id}`);
    await typed(c2, io2, `approve ${id}`);
    expect((await t.ctx.approvals.get(id!))?.status).toMatch(/approved|submitted|filled/);
    const after = await typed(c2, io2, '/approvals');
    expect(after).not.toContain(`Approve ${id}`);
    await c2.close();
  });

  it('lists open approvals on Discord and Telegram without offering their buttons again', async () => {
    await t.desk.command('order', { symbol: 'ETH-PERP', side: 'short', size_usd: '500', leverage: '2' }, actor('console', 'console'));
    for (const inv of [actor('discord', '111'), actor('telegram', '222')]) {
      const r = await t.desk.command('approvals', {}, inv);
      expect(r.table?.rows.some((row) => /ETH-PERP sell/.test(row.join(' ')))).toBe(true);
      expect(r.buttons ?? []).toEqual([]);
    }
  });

  it('says so when nothing is open', async () => {
    const empty = await buildTestDesk();
    try {
      expect((await empty.desk.command('approvals', {}, actor('console', 'console'))).text).toBe('No open approvals.');
    } finally {
      await empty.close();
    }
  });
});
