import { defineCommand } from './define.js';
import { utc } from '../src/format.js';

export const AUDIT_DEFAULT = 10;
export const AUDIT_MAX = 50;

export default defineCommand({
  name: 'audit',
  description: 'The latest audit entries: who requested, approved and placed what',
  role: 'viewer',
  sideEffect: 'none',
  options: [{ name: 'n', description: `How many entries (default ${AUDIT_DEFAULT}, max ${AUDIT_MAX})`, type: 'integer', min: 1, max: AUDIT_MAX }],
  async run(ctx, args) {
    const n = args.n ?? AUDIT_DEFAULT;
    const entries = await ctx.audit.latest(n);
    if (!entries.length) return { title: 'Audit', text: 'No audit entries yet.', severity: 'info' };
    return {
      title: `Audit: latest ${entries.length}`,
      table: {
        headers: ['When (UTC)', 'Who', 'Via', 'Action', 'Subject', 'Detail'],
        rows: entries.map((e) => [utc(e.ts).replace(' UTC', ''), e.actor, e.platform, e.action, e.subject, e.detail]),
      },
      severity: 'info',
    };
  },
});
