import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { buildTestDesk, actor, type TestDesk } from '../support/desk.js';
import { parseCommandText } from '../../commands/text.js';

let t: TestDesk;
const rejections: unknown[] = [];
const onRejection = (e: unknown) => rejections.push(e);

beforeAll(async () => {
  t = await buildTestDesk();
  process.on('unhandledRejection', onRejection);
});
afterAll(async () => {
  process.off('unhandledRejection', onRejection);
  await t.close();
});

const names = () => fc.oneof(fc.constantFrom(...t.desk.commands.map((c) => c.name)), fc.string({ maxLength: 12 }));
const value = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.double(),
  fc.integer(),
  fc.constantFrom('BTC-PERP', 'btc', 'eth-perp', 'sol', '', ' ', 'NaN', 'Infinity', '-1', '1e400', '0x10', 'long', 'short', '3x', '1,000'),
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.object({ maxDepth: 1 }),
);

describe('dispatcher under random input', () => {
  it('answers every random command and option set with a message, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(names(), fc.dictionary(fc.oneof(fc.constantFrom('symbol', 'side', 'size_usd', 'leverage', 'price', 'n', 'action', 'reason', 'value'), fc.string({ maxLength: 8 })), value, { maxKeys: 5 }), fc.constantFrom('discord', 'telegram', 'console'), async (name, args, platform) => {
        const r = await t.desk.command(name, args as Record<string, unknown>, actor(platform as 'discord', '42'));
        expect(typeof (r.text ?? r.title)).toBe('string');
        expect(r.text ?? '').not.toMatch(/at .*\.ts:\d+/); // never a stack trace
      }),
      { numRuns: 1500 },
    );
    expect(rejections).toEqual([]);
  });

  it('parses any text line without throwing and dispatches it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ maxLength: 60 }).map((s) => `/${s}`), fc.constantFrom('/funding', '/order btc long', '/funding@other btc', '/oi   ', '/basis btc btc btc')), async (line) => {
        const parsed = parseCommandText(line, t.desk.commands, 'PerpDeskBot');
        if (parsed && !('error' in parsed)) {
          const r = await t.desk.command(parsed.name, parsed.args, actor('telegram', '7'));
          expect(typeof (r.text ?? r.title)).toBe('string');
        }
      }),
      { numRuns: 1500 },
    );
    expect(rejections).toEqual([]);
  });

  it('answers random button ids with a note', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 100 }), fc.constantFrom('pd1:ap:x:1', 'pd1:zz:abc:99999999999', 'pd2:ap:a:1', 'pd1:ap::')), async (id) => {
        const r = await t.desk.button(id, actor('discord', '9'));
        expect(typeof (r.notice ?? r.update?.title)).toBe('string');
      }),
      { numRuns: 1000 },
    );
  });
});
