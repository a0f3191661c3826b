/**
 * The recorded venue answers the relay replays, one JSON file per venue under recordings/ (provenance of each answer
 * in its `source` field and in PROVENANCE.md). A `query` value of null means "the parameter is absent".
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Recording {
  venue: string;
  name: string;
  method: 'GET' | 'POST';
  host: string;
  path: string;
  query?: Record<string, string | null>;
  /** For POST /info style APIs: the `type` of the JSON body. */
  bodyType?: string;
  source: string;
  body: unknown;
}

export const RECORDED_VENUES = ['binanceusdm', 'bybit', 'okx', 'hyperliquid'] as const;

const dir = join(dirname(fileURLToPath(import.meta.url)), 'recordings');

export const RECORDINGS: readonly Recording[] = RECORDED_VENUES.flatMap((venue) => {
  const file = JSON.parse(readFileSync(join(dir, `${venue}.json`), 'utf8')) as { endpoints: Omit<Recording, 'venue'>[] };
  return file.endpoints.map((e) => ({ ...e, venue }));
});

/** The moment the recordings describe (2024-03-13T11:10:45.391Z): tests run their clock from here. */
export const RECORDED_AT = 1_710_328_245_391;
