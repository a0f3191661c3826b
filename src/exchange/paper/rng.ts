/**
 * A tiny seeded PRNG (mulberry32) whose whole state is one uint32, so it persists in Redis with the market and a
 * restarted paper exchange continues the same price path.
 */

/** Advances `state` and returns [next state, uniform in [0, 1)]. */
export function mulberry32(state: number): [number, number] {
  const s = (state + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [s, ((t ^ (t >>> 14)) >>> 0) / 4294967296];
}

/** A per-market seed: the same seed and symbol always give the same path, whatever other markets exist. */
export function seedFor(seed: number, symbol: string): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < symbol.length; i++) {
    h ^= symbol.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A standard normal draw (Box-Muller) from a holder of PRNG state. */
export function gaussian(holder: { rng: number }): number {
  let u1: number;
  let u2: number;
  [holder.rng, u1] = mulberry32(holder.rng);
  [holder.rng, u2] = mulberry32(holder.rng);
  // 1 - u1 lies in (0, 1], so the log is finite.
  return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
}
