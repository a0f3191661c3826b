import type { AuditEntry, AuditLog } from '../audit.js';
import { key, type Store } from '../store.js';

/**
 * Audits refused strangers without letting a flood fill the audit stream: at most one entry per account per
 * window (the next entry says how many attempts were not written), and at most `maxPerWindow` entries from all
 * strangers together per window.
 *
 * KEYS: 1 the account's gate, 2 the account's count of unwritten attempts, 3 the global window counter, 4 audit stream.
 * ARGV: 1 window seconds, 2 global cap, 3 entry JSON (its detail carries `__MORE__`), 4 audit MAXLEN.
 * Returns 1 when an entry was written, 0 when the attempt was only counted.
 */
const REFUSED_LUA = `
local function count()
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], 86400)
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 1 then return count() end
local g = redis.call('INCR', KEYS[3])
if g == 1 then redis.call('EXPIRE', KEYS[3], tonumber(ARGV[1])) end
if g > tonumber(ARGV[2]) then return count() end
redis.call('SET', KEYS[1], '1', 'EX', tonumber(ARGV[1]))
local more = tonumber(redis.call('GET', KEYS[2]) or '0')
redis.call('DEL', KEYS[2])
local suffix = ''
if more > 0 then suffix = '; ' .. more .. ' more refused attempt(s) since the last entry' end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'e', (string.gsub(ARGV[3], '__MORE__', suffix)))
return 1
`;

const AUDIT_MAXLEN = 100_000;

export interface Refusal {
  ts: number;
  /** `name (telegram:222)`. */
  actor: string;
  platform: string;
  /** The account, the key of the per-account limit: `telegram:222`. */
  account: string;
  /** Where: `telegram chat -100123`. */
  where: string;
  /** What was tried: `/positions`, `button ap`. */
  what: string;
}

export class RefusalAudit {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly windowSeconds = 60,
    private readonly maxPerWindow = 30,
  ) {}

  /** Records one refused attempt; resolves to whether it was written to the audit stream (else only counted). */
  async refused(r: Refusal): Promise<boolean> {
    const entry: AuditEntry = { ts: r.ts, actor: r.actor, platform: r.platform, action: 'access.refused', subject: r.where, detail: `${r.what}: not on the team's lists__MORE__` };
    const written = await this.store.redis.eval(
      REFUSED_LUA, 4,
      key(this.store, 'access', 'refused', r.account), key(this.store, 'access', 'refused', r.account, 'n'), key(this.store, 'access', 'refused'), this.audit.streamKey,
      String(this.windowSeconds), String(this.maxPerWindow), JSON.stringify(entry), String(AUDIT_MAXLEN),
    );
    return written === 1;
  }
}
