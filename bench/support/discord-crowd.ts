/** Shared by the Discord benches: interactions timed at the stand-in, e.g. many users clicking one button at once. */
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
