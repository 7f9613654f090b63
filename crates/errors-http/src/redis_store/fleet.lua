-- The rate-limit controller of one partition, shared by a fleet of processes through Redis.
-- The same model as errors-core's pacer (docs/rate-limits.md): a GCRA queue whose rate and
-- burst come from a stated limit, or from CUBIC once a process found the partition overrun.
-- Atomic: Redis runs a script alone. Times are microseconds on Redis's clock (TIME), so the
-- processes' clocks never need to agree.
--
-- KEYS[1]   the partition's hash
-- ARGV[1]   "reserve": ARGV[2] = microseconds the request may still wait (-1: no deadline)
--           returns {0, 0} unpaced, {1, wait} send after `wait` us, {2, wait} too late,
--           {3, wait} ask again after `wait` us (the slot is further off than NAP)
-- ARGV[1]   "report": ARGV[2] = 1 for a 429, 0 for a statement on another answer;
--           ARGV[3] stated limit (0: none), ARGV[4] its window (us), ARGV[5] Retry-After
--           (us, at most the max wait; -1: none), ARGV[6] how long before the answer the
--           request was sent (us), ARGV[7] the reporting process's own pace (-1: none)

local key = KEYS[1]
local op = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

-- The same constants as errors-core (pacer.rs, cubic.rs), where each is explained.
local C, BETA, MARGIN, MIN_RATE = 0.4, 0.7, 0.02, 0.5
local QUIET, RESOLUTION = 60000000, 1000000
-- Keys expire two quiet periods after their last write: nothing is left behind.
local TTL_MS = 120000
-- A slot further off than this is not booked: the request asks again then. A booking keeps
-- the pace of its moment, and a fleet's learned pace rises within seconds of its start; a
-- quarter second bounds both how stale a booking is and the extra round trips (four a
-- second per waiting request).
local NAP = 250000
-- A stated limit is probed (it may have risen) after this many of its intervals without a
-- 429: ten times the single process's (pacer.rs), because in a fleet every process books
-- slots at the probing pace within a NAP, so a probe costs about ten rejections, not one.
local PROBE_AFTER = 1000

local f = redis.call('HMGET', key, 'm', 'ql', 'qw', 'wm', 'k', 'ep', 'tat', 'gate', 'rec', 'lt')
local s = {
  m = tonumber(f[1]) or 0, ql = tonumber(f[2]) or 0, qw = tonumber(f[3]) or 0,
  wm = tonumber(f[4]) or 0, k = tonumber(f[5]) or 0, ep = tonumber(f[6]) or 0,
  tat = tonumber(f[7]) or 0, gate = tonumber(f[8]) or 0, rec = tonumber(f[9]) or 0,
  lt = tonumber(f[10]) or 0,
}
local sec = math.floor(now / 1000000)
local frac = (now % 1000000) / 1000000

-- Requests reserved (s) or rejected (j) over about the last second, across the fleet.
local function per_second(prefix)
  local cur = tonumber(redis.call('HGET', key, prefix .. sec)) or 0
  local prev = tonumber(redis.call('HGET', key, prefix .. (sec - 1))) or 0
  return cur + prev * (1 - frac)
end

local function count(prefix)
  redis.call('HINCRBY', key, prefix .. sec, 1)
  redis.call('HDEL', key, prefix .. (sec - 2), prefix .. (sec - 3))
end

local function stated_rate()
  return s.ql / (s.qw / 1000000) * (1 - MARGIN)
end

-- The rate, the interval and the tolerance in force.
local function pace()
  local rate, burst
  if s.m == 1 then
    rate, burst = stated_rate(), s.ql
    -- Probed only after PROBE_AFTER of its intervals without a 429 (pacer.rs).
    local probe_from = s.ep + PROBE_AFTER * 1000000 / rate
    if now > probe_from then
      local probing = C * ((now - probe_from) / 1000000) ^ 3 + rate
      rate = math.min(probing, math.max(rate, 2 * per_second('s')))
    end
  else
    local since = (now - s.ep) / 1000000
    rate = C * (since - s.k) ^ 3 + s.wm
    rate = math.max(math.min(rate, math.max(s.wm, 2 * per_second('s'))), MIN_RATE)
    burst = 1
  end
  local interval = 1000000 / rate
  return rate, interval, (burst - 1) * interval
end

local function save()
  redis.call('HSET', key,
    'm', string.format('%d', s.m), 'ql', string.format('%d', s.ql),
    'qw', string.format('%.0f', s.qw), 'wm', string.format('%.17g', s.wm),
    'k', string.format('%.17g', s.k), 'ep', string.format('%.0f', s.ep),
    'tat', string.format('%.0f', s.tat), 'gate', string.format('%.0f', s.gate),
    'rec', string.format('%.0f', s.rec), 'lt', string.format('%.0f', s.lt))
  redis.call('PEXPIRE', key, TTL_MS)
end

-- Quiet: no 429 for a minute (two stated windows, if longer) and nobody waiting: the
-- partition is unpaced again.
local quiet = QUIET
if s.m == 1 then quiet = math.max(QUIET, 2 * s.qw) end
if s.m ~= 0 and now - s.lt > quiet and s.tat <= now then
  s.m, s.wm, s.k, s.ep, s.rec = 0, 0, 0, 0, 0
end

if op == 'reserve' then
  local before = tonumber(ARGV[2])
  local ready = math.max(now, s.gate)
  if s.m == 0 then
    if ready > now then return {1, math.floor(ready - now)} end
    return {0, 0}
  end
  local _, interval, tolerance = pace()
  local slot = math.max(ready, s.tat - tolerance)
  if before >= 0 and slot >= now + before then return {2, math.floor(slot - now)} end
  if slot > now + NAP then return {3, NAP} end
  s.tat = math.max(s.tat, ready) + interval
  count('s')
  save()
  return {1, math.floor(slot - now)}
end

-- report
local throttled = ARGV[2] == '1'
local limit, window = tonumber(ARGV[3]), tonumber(ARGV[4])
local retry_after, sent_ago = tonumber(ARGV[5]), tonumber(ARGV[6])
local local_rate = tonumber(ARGV[7])
if throttled then count('j') end
-- One cut per window. (errors-core's pacer also cuts again inside the window when answers
-- got through since the cut; the store does not see answers that got through: processes
-- report 429s and statements only, and a report per success would be a round trip each.)
local fresh = (now - sent_ago) >= s.ep and now >= s.rec
local changed = false
if limit > 0 then
  local differs = s.m ~= 1 or s.ql ~= limit or s.qw ~= window
  -- A statement on a success changes a pace, but starts none.
  if (differs and (throttled or s.m ~= 0)) or (throttled and fresh) then
    s.m, s.ql, s.qw = 1, limit, window
    s.wm, s.k, s.ep = stated_rate(), 0, now
    changed = true
  end
elseif throttled then
  if s.m == 0 then
    -- The reporting process's throttling ratio found the partition overrun: start at its
    -- pace; the law climbs from there to the fleet's.
    if local_rate > 0 then
      s.m, s.wm, s.k, s.ep = 2, local_rate, 0, now
      changed = true
    end
  elseif fresh then
    if s.m == 2 then
      local rate = pace()
      s.wm, s.k, s.ep = rate, (rate * (1 - BETA) / C) ^ (1 / 3), now
    else
      s.wm, s.k, s.ep = stated_rate(), 0, now
    end
    changed = true
  end
end
if changed then s.rec = now + math.max(retry_after, 0) end
if throttled then
  s.lt = now
  if retry_after > RESOLUTION then s.gate = math.max(s.gate, now + retry_after) end
  if s.m ~= 0 then
    -- The server's bucket is empty now; a closed window reopens with the whole burst.
    local _, interval, tolerance = pace()
    if s.gate > now then
      s.tat = s.gate
    else
      local next_in = interval
      if retry_after >= 0 and retry_after < interval then next_in = retry_after end
      s.tat = now + next_in + tolerance
    end
  end
end
save()
return 1
