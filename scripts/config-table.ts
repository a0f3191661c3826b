/** Prints the README's configuration table from the zod schema (`npm run config-table`); a test checks they match. */
import { configTableMarkdown } from '../src/config/table.js';

process.stdout.write(configTableMarkdown() + '\n');
