/**
 * Lua behind the ledger. Each script dedupes and appends in one atomic step, so an answer observed twice, by two
 * processes at once, or again after a crash between two commands, is counted once.
 */
import { LuaScript } from '../../queues/lua-script.js';

/**
 * Merges one cumulative state of an order into its hash.
 * KEYS: 1 order hash, 2 orders index zset, 3 events stream, 4 closed-until, 5 version
 * ARGV: 1 meta JSON, 2 filled (canonical text), 3 notional (text), 4 seenAt (ms), 5 atPlacement 0|1,
 *       6 client order id, 7 '1' if the order is known to be the desk's (else it must be registered already)
 * A state is one field `p:<filled>` = `<notional>|<seenAt>|<atPlacement>`; seeing it again keeps the earliest time,
 * the smaller notional and the OR of atPlacement, so any order of sightings gives the same hash. Days before
 * closed-until are folded into day totals and never change: a sighting is moved to the first open instant, and one
 * that would split a fill of a closed day is refused.
 * Returns 1 new state, 2 state updated, 0 nothing changed, -1 refused (closed day), -2 not a desk order.
 */
export const OBSERVE_LUA = `
local ord, idx, ev, cu, ver = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local fkey, nstr, placed, coid = ARGV[2], ARGV[3], tonumber(ARGV[5]), ARGV[6]
local filled, notional, seen = tonumber(fkey), tonumber(nstr), tonumber(ARGV[4])
if ARGV[7] ~= '1' and redis.call('HEXISTS', ord, 'meta') == 0 then return -2 end
local closed = tonumber(redis.call('GET', cu) or '0')
if seen < closed then seen = closed end
local all = redis.call('HGETALL', ord)
local pts = {}
local cur = nil
for i = 1, #all, 2 do
  local f = all[i]
  if string.sub(f, 1, 2) == 'p:' then
    local n, t, p = string.match(all[i + 1], '^([^|]+)|([^|]+)|([^|]+)$')
    local x = { k = string.sub(f, 3), q = tonumber(string.sub(f, 3)), ns = n, n = tonumber(n), t = tonumber(t), p = tonumber(p) }
    pts[#pts + 1] = x
    if x.k == fkey then cur = x end
  end
end
local nextT = nil
for _, x in ipairs(pts) do
  if x.q > filled and (nextT == nil or x.t < nextT) then nextT = x.t end
end
local function reindex()
  local topQ, topT = -1, 0
  for _, x in ipairs(pts) do
    if x.q > topQ then topQ, topT = x.q, x.t end
  end
  redis.call('ZADD', idx, topT, coid)
end
if cur == nil then
  if nextT ~= nil and nextT < closed then return -1 end
  redis.call('HSETNX', ord, 'meta', ARGV[1])
  redis.call('HSET', ord, 'p:' .. fkey, nstr .. '|' .. string.format('%d', seen) .. '|' .. placed)
  pts[#pts + 1] = { k = fkey, q = filled, ns = nstr, n = notional, t = seen, p = placed }
  reindex()
  redis.call('XADD', ev, '*', 'k', 'state', 'coid', coid, 'filled', fkey, 'notional', nstr, 'seen', string.format('%d', seen), 'placed', placed)
  redis.call('INCR', ver)
  return 1
end
local nt, np, ns = cur.t, cur.p, cur.ns
if seen < nt then nt = seen end
if notional < cur.n then ns = nstr end
if placed > np then
  local eff = nt
  if nextT ~= nil and nextT < eff then eff = nextT end
  if eff >= closed then np = placed end
end
if nt == cur.t and np == cur.p and ns == cur.ns then return 0 end
redis.call('HSET', ord, 'p:' .. fkey, ns .. '|' .. string.format('%d', nt) .. '|' .. np)
cur.t = nt
reindex()
redis.call('XADD', ev, '*', 'k', 'state', 'coid', coid, 'filled', fkey, 'notional', ns, 'seen', string.format('%d', nt), 'placed', np)
redis.call('INCR', ver)
return 2
`;

export const observeScript = new LuaScript('pdLedgerObserve', OBSERVE_LUA, 5);

/**
 * Registers an order before it is sent, so a fill seen later only in a listing (the placing answer lost to a
 * crash or timeout) is still known to be the desk's. KEYS: 1 order hash. ARGV: 1 meta JSON.
 */
export const registerScript = new LuaScript('pdLedgerRegister', `return redis.call('HSETNX', KEYS[1], 'meta', ARGV[1])`, 1);

/**
 * One funding settlement per symbol and stamp. KEYS: 1 funding hash, 2 funding zset (score = stamp), 3 events,
 * 4 closed-until, 5 version. ARGV: 1 `<symbol>|<stamp>`, 2 record JSON, 3 stamp.
 * Returns 1 recorded, 0 already recorded, -1 refused (its day is closed).
 */
export const fundingScript = new LuaScript('pdLedgerFunding', `
local closed = tonumber(redis.call('GET', KEYS[4]) or '0')
if tonumber(ARGV[3]) < closed then return -1 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('XADD', KEYS[3], '*', 'k', 'funding', 'id', ARGV[1], 'e', ARGV[2])
redis.call('INCR', KEYS[5])
return 1
`, 5);

/**
 * Closes a day: writes its totals once and moves closed-until past it, only if nothing changed since the totals
 * were computed (version) and no other process closed it first (closed-until).
 * KEYS: 1 closed-until, 2 version, 3 day key, 4 days zset. ARGV: 1 expected version, 2 expected closed-until,
 * 3 new closed-until, 4 day JSON, 5 day start, 6 day name. Returns 1 closed, 0 lost the race (recompute).
 */
export const closeDayScript = new LuaScript('pdLedgerCloseDay', `
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[3], ARGV[4], 'NX')
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[6])
redis.call('SET', KEYS[1], ARGV[3])
redis.call('INCR', KEYS[2])
return 1
`, 4);
