/**
 * Where the shipped files live. The same module runs from `src/` under tsx and from `dist/src/` when compiled, so
 * paths are found by walking up to the package root instead of counting `../` from this file.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'data', 'PROVENANCE.md'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('PerpDesk package root (with data/PROVENANCE.md) not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The shipped historical data (data/, see data/PROVENANCE.md), with a trailing slash. */
export const SHIPPED_DATA_DIR = join(packageRoot(), 'data') + '/';
