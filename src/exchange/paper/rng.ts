/**
 * A tiny seeded PRNG (mulberry32) whose whole state is one uint32, so it persists in Redis with the market and a
 * restarted paper exchange continues the same price path.
 */

/** A per-market seed: the same seed and symbol always give the same path, whatever other markets exist. */
export function seedFor(seed: number, symbol: string): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < symbol.length; i++) {
    h ^= symbol.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A uniform in [0, 1) from a holder of PRNG state (mulberry32 inlined: this runs per market per tick). */
export function uniform(holder: { rng: number }): number {
  const st = (holder.rng + 0x6d2b79f5) >>> 0;
  holder.rng = st;
  let t = Math.imul(st ^ (st >>> 15), st | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** A standard normal draw (Box-Muller) from a holder of PRNG state. */
export function gaussian(holder: { rng: number }): number {
  const u1 = uniform(holder);
  const u2 = uniform(holder);
  // 1 - u1 lies in (0, 1], so the log is finite.
  return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
}
