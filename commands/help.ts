import { defineCommand, usage } from './define.js';
import { hasRole } from './dispatch.js';

export default defineCommand({
  name: 'help',
  description: 'The commands',
  role: 'viewer',
  sideEffect: 'none',
  options: [],
  async run(ctx, _args, inv) {
    const rows = ctx.commands.map((c) => [usage(c), c.description + (hasRole(ctx, inv, c.role) ? '' : ` (needs ${c.role})`)]);
    return {
      title: 'PerpDesk commands',
      table: { headers: ['Command', 'What it does'], rows },
      footer: 'Symbols: BTC-PERP, btc or BTC all work. Orders need a teammate’s approval.',
    };
  },
});
