import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { buildTestDesk, pipes, type TestDesk } from '../support/desk.js';
import { ConsoleTransport } from '../../src/transports/console.js';

let t: TestDesk;
beforeAll(async () => {
  t = await buildTestDesk();
});
afterAll(async () => t.close());

async function run(lines: string[]) {
  const io = pipes();
  const c = new ConsoleTransport({ desk: t.desk, input: io.input, output: io.output });
  c.start();
  for (const l of lines) io.input.write(`${l}\n`);
  // Give readline a turn to emit the lines, then wait until each has been answered.
  await new Promise((r) => setImmediate(r));
  await c.idle();
  return { c, text: io.text };
}

describe('console transport', () => {
  it('answers /funding BTC-PERP typed on stdin with a readable table', async () => {
    const { c, text } = await run(['/funding BTC-PERP']);
    const f = await t.paper.funding('BTC-PERP');
    expect(text()).toContain('Funding BTC-PERP');
    expect(text()).toMatch(/Current rate\s+0\.\d{4}% per 8h/);
    expect(text()).toContain(`${(f.currentRate * 100).toFixed(4)}% per 8h`);
    expect(text()).toMatch(/Next funding\s+\d{4}-\d{2}-\d{2} \d{2}:00:00 UTC \(in \d{2}:\d{2}:\d{2}\)/);
    await c.close();
  });

  it('accepts lowercase symbols and answers mistakes without stopping', async () => {
    const { c, text } = await run(['/funding btc', '/funding', '/nope', 'hello', '/oi eth extra-value', '/positions']);
    const out = text();
    expect(out).toContain('Funding BTC-PERP');
    expect(out).toContain('Missing symbol. Usage: /funding <symbol>');
    expect(out).toContain('Unknown command /nope');
    expect(out).toContain('Not a command. Type /help');
    expect(out).toContain('Too many values for /oi. Usage: /oi <symbol>');
    expect(out).toContain('No open positions.');
    await c.close();
  });

  it('prints alerts sent to it as a notifier', async () => {
    const io = pipes();
    const c = new ConsoleTransport({ desk: t.desk, input: io.input, output: io.output });
    c.start();
    const ref = await c.send('console', { title: 'Cascade BTC-PERP', text: 'OI -4.5% in 5 min', severity: 'critical' });
    expect(ref.platform).toBe('console');
    await c.edit(ref, { title: 'Cascade BTC-PERP', text: 'cascade over', severity: 'info' });
    expect(io.text()).toContain('🚨 Cascade BTC-PERP');
    expect(io.text()).toContain('Cascade BTC-PERP (updated)');
    await c.close();
  });

  it('at a terminal, stops on one Ctrl-C and on Ctrl-D (readline takes both keys, no signal reaches the process)', async () => {
    for (const [key, reason] of [['\x03', 'SIGINT'], ['\x04', 'end of input']] as const) {
      const io = pipes();
      // What readline needs of a terminal: it switches it to raw mode and reads keys byte by byte.
      Object.assign(io.input, { isTTY: true, setRawMode: () => io.input });
      const quits: string[] = [];
      const c = new ConsoleTransport({ desk: t.desk, input: io.input, output: io.output, interactive: true, onQuit: (r) => quits.push(r) });
      c.start();
      io.input.write('/funding BTC-PERP\r');
      io.input.write(key);
      await new Promise((r) => setImmediate(r));
      await c.idle();
      await new Promise((r) => setImmediate(r));
      expect(quits).toEqual([reason]);
      expect(io.text()).toContain('Funding BTC-PERP');
      expect(io.text()).toContain('Stopping PerpDesk');
      await c.close();
      expect(quits).toHaveLength(1);
    }
  });
});
