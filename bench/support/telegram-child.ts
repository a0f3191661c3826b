/**
 * The Telegram Bot API stand-in in its own process, as the real platform would be: its arrival times (which its
 * rate limiter counts) are not skewed by the bench's own event loop. Prints `READY <apiRoot> <token>`; answers
 * `report` on stdin with one JSON line; exits on stdin end. BENCH_SCALE divides the windows.
 */
import { createInterface } from 'node:readline';
import { scaledLimits, startTelegramStandIn } from '../../test/fakes/telegram/index.js';

const scale = Number(process.env.BENCH_SCALE ?? '1');
const tg = await startTelegramStandIn({ limits: scaledLimits(scale) });
process.stdout.write(`READY ${tg.apiRoot} ${tg.token}\n`);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, ...ids] = line.trim().split(/\s+/);
  if (cmd !== 'report') return;
  const chats = Object.fromEntries(ids.map((id) => [id, tg.messages(Number(id)).map((m) => ({ text: m.text ?? '', sentAt: m.sentAt }))]));
  process.stdout.write(`${JSON.stringify({ chats, rateLimited: tg.rateLimited(), violations: tg.violations() })}\n`);
});
rl.on('close', () => void tg.close().then(() => process.exit(0)));
