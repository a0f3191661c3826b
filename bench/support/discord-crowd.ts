/**
 * Shared by the Discord benches: many users clicking one button at the same moment, timed at the stand-in, and a
 * minimal discord.js bot that answers at once (the floor the real bot is compared with).
 */
import { Client, Events, GatewayIntentBits, MessageFlags } from 'discord.js';
import type { DiscordStandIn, StandInInteraction } from '../../test/fakes/discord/index.js';

export function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function summary(samples: readonly number[]): { p50: number; p99: number; max: number; n: number } {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number) => +x.toFixed(2);
  return { p50: r(pct(s, 50)), p99: r(pct(s, 99)), max: r(s.at(-1)!), n: s.length };
}

export interface Clicker {
  userId: string;
  roleIds: string[];
}

/**
 * Dispatches one INTERACTION_CREATE per clicker back to back (the gateway sends them in one burst) and resolves
 * with each click's acknowledgement time: from just before the stand-in sends the INTERACTION_CREATE to the moment
 * it has received the interaction callback.
 */
export async function crowdClick(
  discord: DiscordStandIn,
  customId: string,
  messageId: string,
  clickers: readonly Clicker[],
): Promise<{ ackMs: number; ix: StandInInteraction }[]> {
  const acks = clickers.map((c) => {
    const t0 = performance.now();
    const ix = discord.dispatchButton({ customId, messageId, userId: c.userId, roleIds: c.roleIds });
    return ix.firstResponse({ timeoutMs: 10_000 }).then((r) => {
      if (r.rejected) throw new Error(`click of ${c.userId} refused by the stand-in: ${r.rejected}`);
      return { ackMs: performance.now() - t0, ix };
    });
  });
  return Promise.all(acks);
}

/** A /command answered through the stand-in: ms from INTERACTION_CREATE to the callback. */
export async function timedCommand(discord: DiscordStandIn, name: string, userId: string, options: Record<string, string | number>): Promise<number> {
  const t0 = performance.now();
  const ix = discord.dispatchSlashCommand({ name, userId, options });
  const r = await ix.firstResponse({ timeoutMs: 10_000 });
  if (r.rejected) throw new Error(`/${name} refused by the stand-in: ${r.rejected}`);
  return performance.now() - t0;
}

/**
 * The floor: a discord.js client that answers every button with an ephemeral line and every command with a fixed
 * embed, doing nothing else.
 */
export async function startMinimalBot(discord: DiscordStandIn): Promise<{ close(): Promise<void> }> {
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.url } });
  client.on(Events.InteractionCreate, (ix) => {
    if (ix.isButton()) void ix.reply({ content: 'This order was already approved.', flags: MessageFlags.Ephemeral }).catch(() => {});
    else if (ix.isChatInputCommand()) void ix.reply({ embeds: [{ title: 'Funding BTC-PERP', description: '+0.0100% per 8h' }] }).catch(() => {});
  });
  const ready = new Promise<void>((r) => client.once(Events.ClientReady, () => r()));
  await client.login(discord.token);
  await ready;
  return { close: () => client.destroy() };
}

/**
 * With BENCH_PROFILE=<dir>, records a V8 CPU profile of only the timed windows (not start-up or set-up) and writes
 * it there as `<name>.cpuprofile` for Chrome DevTools / speedscope.
 */
export async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_PROFILE;
  if (!dir) return fn();
  const { Session } = await import('node:inspector/promises');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const s = new Session();
  s.connect();
  await s.post('Profiler.enable');
  await s.post('Profiler.setSamplingInterval', { interval: 100 });
  await s.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await s.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/${name}-${Date.now()}.cpuprofile`, JSON.stringify(profile));
    s.disconnect();
  }
}
