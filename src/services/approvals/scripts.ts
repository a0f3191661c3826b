/**
 * Lua scripts behind the approval state machine. Each runs atomically in Redis: the status compare-and-set, the
 * field writes and the audit entry land together or not at all, so no two clicks or workers can both win a
 * transition and no transition goes unrecorded.
 */
import { LuaScript } from '../../queues/lua-script.js';

/**
 * Saves a new approval unless the id exists. KEYS: 1 approval hash, 2 open-approvals zset, 3 audit stream
 * ARGV: 1 data JSON, 2 expiresAt, 3 createdAt, 4 approval id, 5 audit JSON, 6 audit MAXLEN.
 * Returns 1 when created, 0 when the id was taken.
 * An open approval never expires from Redis (a limit order may rest for months); retention starts once it is final
 * (TRANSITION_LUA), and pending ones are moved to `expired` by the sweep.
 */
export const CREATE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'pending', 'data', ARGV[1], 'expiresAt', ARGV[2], 'updatedAt', ARGV[3])
redis.call('ZADD', KEYS[2], tonumber(ARGV[3]), ARGV[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*', 'e', ARGV[5])
return 1
`;

/**
 * KEYS: 1 approval hash, 2 approvers hash, 3 open-approvals zset, 4 audit stream
 * ARGV: 1 allowed from-statuses (comma list), 2 to-status, 3 '1' when the new status is final, 4 audit entry JSON
 * ('' for none), 5 audit MAXLEN, 6 approval id, 7 retention seconds once final, 8.. field/value pairs to set.
 * Returns {'ok', previous} | {'conflict', current} | {'missing', ''}.
 */
export const TRANSITION_LUA = `
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {'missing', ''} end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do
  if s == cur then allowed = true end
end
if not allowed then return {'conflict', cur} end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
if #ARGV >= 9 then redis.call('HSET', KEYS[1], unpack(ARGV, 8)) end
if ARGV[3] == '1' then
  redis.call('ZREM', KEYS[3], ARGV[6])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[7]))
end
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'e', ARGV[4])
end
return {'ok', cur}
`;

/**
 * Adds one approver to a pending approval; the one that reaches the required count moves it to `approved`.
 * KEYS: 1 approval hash, 2 approvers hash, 3 audit stream
 * ARGV: 1 approver key, 2 approver JSON, 3 approvals required, 4 now ms, 5 audit JSON when only recorded,
 * 6 audit JSON when approved (both with __COUNT__ for the count so far), 7 audit MAXLEN, 8.. other keys of the same
 * person (its accounts, stored before PERPDESK_PEOPLE grouped them): any of them already present is a duplicate.
 * Returns {'approved'|'recorded'|'duplicate', count} | {'expired', 0} | {'conflict', status} | {'missing', ''}.
 */
export const APPROVE_LUA = `
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {'missing', ''} end
if cur ~= 'pending' then return {'conflict', cur} end
local exp = tonumber(redis.call('HGET', KEYS[1], 'expiresAt'))
if exp and tonumber(ARGV[4]) >= exp then return {'expired', 0} end
for i = 1, #ARGV do
  if (i == 1 or i >= 8) and redis.call('HEXISTS', KEYS[2], ARGV[i]) == 1 then
    return {'duplicate', redis.call('HLEN', KEYS[2])}
  end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local n = redis.call('HLEN', KEYS[2])
if n >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'status', 'approved', 'updatedAt', ARGV[4])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'e', (string.gsub(ARGV[6], '__COUNT__', tostring(n))))
  return {'approved', n}
end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'e', (string.gsub(ARGV[5], '__COUNT__', tostring(n))))
return {'recorded', n}
`;

/**
 * Reads an approval and its approvers in one atomic step. KEYS: 1 approval hash, 2 approvers hash.
 * Returns {approval fields, approvers fields} as flat field/value lists (empty when absent).
 */
export const READ_LUA = `
return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
`;

/**
 * `lua` (whose KEYS 1 and 2 are the approval hash and its approvers hash) followed, in the same atomic step, by a
 * read of both: its reply gains the record as it stands after the change, as elements 3 and 4, so the caller needs
 * no second round trip and never sees a later click's state mixed in.
 */
function thenRead(lua: string): string {
  return `local function change()\n${lua}\nend\nlocal r = change()\nr[3] = redis.call('HGETALL', KEYS[1])\nr[4] = redis.call('HGETALL', KEYS[2])\nreturn r\n`;
}

/** The approval store's scripts, run by EVALSHA. */
export const APPROVAL_SCRIPTS = {
  create: new LuaScript('pdApprovalCreate', CREATE_LUA, 3),
  read: new LuaScript('pdApprovalRead', READ_LUA, 2),
  transition: new LuaScript('pdApprovalTransition', thenRead(TRANSITION_LUA), 4),
  approve: new LuaScript('pdApprovalApprove', thenRead(APPROVE_LUA), 3),
} as const;
