import type { Exchange, Instrument } from '../exchange/port.js';
import { resolveSymbol } from '../domain/symbols.js';
import { UserError } from '../errors.js';

/**
 * Instruments of the exchange, cached (they change rarely), and symbol resolution for user input:
 * `btc`, `BTC`, `btc-perp` all name BTC-PERP; an unknown one gets the closest valid symbols.
 */
export class MarketService {
  #cache: { at: number; list: Instrument[] } | undefined;

  constructor(
    private readonly exchange: Exchange,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = 60_000,
  ) {}

  async instruments(): Promise<Instrument[]> {
    if (this.#cache && this.now() - this.#cache.at < this.ttlMs) return this.#cache.list;
    const list = await this.exchange.instruments();
    this.#cache = { at: this.now(), list };
    return list;
  }

  async symbols(): Promise<string[]> {
    return (await this.instruments()).map((i) => i.symbol);
  }

  /** The instrument a user meant, or a UserError naming the closest valid symbols. */
  async resolve(input: string): Promise<Instrument> {
    const list = await this.instruments();
    const r = resolveSymbol(input, list.map((i) => i.symbol));
    if ('error' in r) {
      const shown = input.trim().slice(0, 30) || '(empty)';
      const hint = r.closest.length ? ` Closest: ${r.closest.join(', ')}` : ` Valid: ${list.map((i) => i.symbol).join(', ')}`;
      throw new UserError('unknown_symbol', `Unknown symbol ${shown}.${hint}`, { input: shown });
    }
    const inst = list.find((i) => i.symbol === r.symbol);
    if (!inst) throw new UserError('unknown_symbol', `Unknown symbol ${input.trim().slice(0, 30)}.`);
    return inst;
  }

  /** Symbols starting with or containing the typed text, for autocomplete. */
  async suggest(partial: string, limit = 25): Promise<string[]> {
    const q = partial.trim().toUpperCase();
    const all = await this.symbols();
    if (!q) return all.slice(0, limit);
    const starts = all.filter((s) => s.startsWith(q));
    const contains = all.filter((s) => !s.startsWith(q) && s.includes(q));
    return [...starts, ...contains].slice(0, limit);
  }
}
