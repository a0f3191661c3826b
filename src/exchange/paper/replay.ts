/**
 * Loads an hourly bar CSV (`time,open,high,low,close,...`, as in data/) into a close series the paper engine can
 * replay as an index price.
 */
import { readFileSync } from 'node:fs';
import { SHIPPED_DATA_DIR } from '../../config/paths.js';
import { parse } from 'csv-parse/sync';
import type { ReplaySeries } from './engine.js';

/** The real BTC series shipped in data/ (see data/PROVENANCE.md). */
export const DEFAULT_REPLAY_FILE = `${SHIPPED_DATA_DIR}bars-1h-binance-btcusd-perp-coinm-2023-01_2023-06.csv`;

export function loadCloses(path: string): number[] {
  const rows = parse(readFileSync(path, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  const closes = rows.map((r, i) => {
    const c = Number(r.close);
    if (!Number.isFinite(c) || c <= 0) throw new Error(`${path}: row ${i + 2} has no valid close`);
    return c;
  });
  if (closes.length < 2) throw new Error(`${path}: needs at least two bars`);
  return closes;
}

/** A replay of `path` starting at `startMs`, one bar per `msPerBar` of engine time. */
export function replayFromFile(path: string, startMs: number, msPerBar = 3_600_000): ReplaySeries {
  return { closes: loadCloses(path), startMs, msPerBar };
}
