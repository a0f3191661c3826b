/**
 * Rewrites the golden file from the current engine and data: `npx tsx test/backtest/golden/regenerate.ts`.
 * Only after a deliberate change to the backtest semantics or the shipped data; say why in the commit.
 */
import { writeFileSync } from 'node:fs';
import { computeGolden, GOLDEN_FILE } from './compute.js';

const golden = await computeGolden();
writeFileSync(GOLDEN_FILE, `${JSON.stringify(golden, null, 2)}\n`);
console.log(`wrote ${GOLDEN_FILE.pathname}`);
