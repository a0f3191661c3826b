import { z } from 'zod';
import { key, type Store } from './store.js';

export const AuditEntry = z.object({
  ts: z.number(),
  actor: z.string(),
  platform: z.string(),
  action: z.string(),
  subject: z.string(),
  detail: z.string(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** Append-only audit trail (a Redis stream): who did what, when, from which transport. */
export class AuditLog {
  constructor(
    private readonly store: Store,
    private readonly maxLen = 100_000,
  ) {}

  get streamKey(): string {
    return key(this.store, 'audit');
  }

  async append(e: AuditEntry): Promise<string> {
    const id = await this.store.redis.xadd(this.streamKey, 'MAXLEN', '~', String(this.maxLen), '*', 'e', JSON.stringify(e));
    return id ?? '';
  }

  async latest(n: number): Promise<AuditEntry[]> {
    const rows = await this.store.redis.xrevrange(this.streamKey, '+', '-', 'COUNT', n);
    const out: AuditEntry[] = [];
    for (const [, fields] of rows) {
      const i = fields.indexOf('e');
      if (i < 0) continue;
      const p = AuditEntry.safeParse(JSON.parse(fields[i + 1] ?? 'null'));
      if (p.success) out.push(p.data);
    }
    return out;
  }
}
