package redis

import goredis "github.com/redis/go-redis/v9"

// The Lua scripts mirror store/internal/meter line for line: the same
// integer arithmetic (every value below 2^53, so that Lua's doubles are
// exact), the same order of operations. Change both together; the shared
// conformance suite (store/storetest) runs against both.
//
// A counter's state is one string key: the decimal numbers "alg level mark
// scale tick" followed, for a sliding counter, by its 24 slots, separated by
// spaces. ARGV holds argStride values per charge: algorithm, limit, now (Unix
// ms), two parameters (bucket: tick and scale; calendar: period start and
// end; sliding: slot length and 0), amount and audit (1 or 0).
const prelude = `
local N = 24
local MAXAMOUNT = 1125899906842624
local MAXUSED = 4503599627370496
local CALENDAR_MARGIN = 3600000

local function fdiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end
local function cdiv(a, b) return -fdiv(-a, b) end
local function clamp(v, lo, hi)
  if v < lo then return lo elseif v > hi then return hi end
  return v
end

local function params(i)
  local b = (i - 1) * 7
  local p = {alg = tonumber(ARGV[b + 1]), limit = tonumber(ARGV[b + 2]), now = tonumber(ARGV[b + 3])}
  local x1, x2 = tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5])
  if p.alg == 1 then p.tick, p.scale = x1, x2
  elseif p.alg == 2 then p.start, p.stop = x1, x2
  else p.slot = x1 end
  return p, tonumber(ARGV[b + 6]), ARGV[b + 7] == '1'
end

local function zero(s) for i = 1, N do s.slots[i] = 0 end end

local function load(key)
  local s = {alg = 0, level = 0, mark = 0, scale = 0, tick = 0, slots = {}}
  zero(s)
  local v = redis.call('GET', key)
  if v then
    local f = {}
    for w in string.gmatch(v, '%S+') do f[#f + 1] = tonumber(w) end
    s.alg, s.level, s.mark, s.scale, s.tick = f[1] or 0, f[2] or 0, f[3] or 0, f[4] or 0, f[5] or 0
    for i = 1, N do s.slots[i] = f[5 + i] or 0 end
  end
  return s
end

local function used(s)
  if s.alg ~= 3 then return s.level end
  local u = 0
  for i = 1, N do u = u + s.slots[i] end
  return math.min(u, MAXUSED)
end

local function advance(s, p)
  local fresh = s.alg ~= p.alg
  s.alg = p.alg
  if p.alg == 1 then
    local full = p.limit * p.scale
    if fresh then s.level, s.mark = full, p.now
    elseif s.scale ~= p.scale then s.level = fdiv(s.level, math.max(1, s.scale)) * p.scale end
    s.scale, s.tick = p.scale, p.tick
    s.level = clamp(s.level, -3 * full, full)
    if p.now > s.mark then
      if s.level >= full then s.mark = p.now
      else
        local n = fdiv(p.now - s.mark, p.tick)
        if n >= cdiv(full - s.level, p.limit) then s.level, s.mark = full, p.now
        else s.level, s.mark = s.level + n * p.limit, s.mark + n * p.tick end
      end
    end
  elseif p.alg == 2 then
    if fresh or s.mark < p.start then s.level, s.mark = 0, p.start end
    s.scale = p.stop
  else
    local cur = fdiv(p.now, p.slot)
    if fresh then zero(s); s.mark = cur
    elseif s.scale ~= p.slot then
      local u = used(s)
      zero(s); s.mark = cur; s.slots[cur % N + 1] = u
    elseif cur - s.mark >= N then zero(s); s.mark = cur
    elseif cur > s.mark then
      for k = s.mark + 1, cur do s.slots[k % N + 1] = 0 end
      s.mark = cur
    end
    s.scale = p.slot
  end
end

local function fits(s, p, amount)
  if amount <= 0 then return true end
  if p.alg == 1 then return amount <= p.limit and s.level >= amount * p.scale end
  return used(s) + amount <= p.limit
end

local function add(s, p, amount)
  amount = clamp(amount, -MAXAMOUNT, MAXAMOUNT)
  if p.alg == 1 then
    local full = p.limit * p.scale
    local a = clamp(amount, -4 * p.limit, 4 * p.limit)
    s.level = clamp(s.level - a * p.scale, -3 * full, full)
  elseif p.alg == 2 then
    s.level = clamp(s.level + amount, 0, MAXUSED)
  elseif amount >= 0 then
    local i = s.mark % N + 1
    s.slots[i] = math.min(s.slots[i] + amount, MAXUSED)
  else
    local back = -amount
    local k = s.mark
    while k > s.mark - N and back > 0 do
      local i = k % N + 1
      local d = math.min(back, s.slots[i])
      s.slots[i] = s.slots[i] - d
      back = back - d
      k = k - 1
    end
  end
end

local function observe(s, p)
  if p.alg == 1 then
    local full = p.limit * p.scale
    local reset = 0
    if s.level < full then reset = math.max(0, cdiv(full - s.level, p.limit) * p.tick - (p.now - s.mark)) end
    return math.max(0, fdiv(s.level, p.scale)), reset
  elseif p.alg == 2 then
    return math.max(0, p.limit - s.level), math.max(0, p.stop - p.now)
  end
  local reset = 0
  for k = s.mark, s.mark - N + 1, -1 do
    if s.slots[k % N + 1] > 0 then reset = math.max(0, (k + N) * p.slot - p.now); break end
  end
  return math.max(0, p.limit - used(s)), reset
end

local function retry(s, p, amount)
  if amount > p.limit then return 0 end
  if p.alg == 1 then
    local need = amount * p.scale - s.level
    if need <= 0 then return 0 end
    return math.max(0, cdiv(need, p.limit) * p.tick - (p.now - s.mark))
  elseif p.alg == 2 then
    return math.max(0, p.stop - p.now)
  end
  local need, freed = used(s) + amount - p.limit, 0
  for k = s.mark - N + 1, s.mark do
    freed = freed + s.slots[k % N + 1]
    if freed >= need then return math.max(0, (k + N) * p.slot - p.now) end
  end
  return 0
end

local function save(key, s, p)
  local f = {s.alg, s.level, s.mark, s.scale, s.tick}
  if s.alg == 3 then for i = 1, N do f[5 + i] = s.slots[i] end end
  for i = 1, #f do f[i] = string.format('%.0f', f[i]) end
  local ttl
  if p.alg == 1 then
    local _, reset = observe(s, p)
    ttl = reset + p.scale * p.tick
  elseif p.alg == 2 then ttl = p.stop - p.now + CALENDAR_MARGIN
  else ttl = (N + 1) * p.slot end
  redis.call('SET', key, table.concat(f, ' '), 'PX', string.format('%.0f', math.max(1, ttl)))
end

local function saveAll(S, P)
  local done = {}
  for i = #KEYS, 1, -1 do
    if not done[KEYS[i]] then done[KEYS[i]] = true; save(KEYS[i], S[i], P[i]) end
  end
end

local function prepare()
  local P, S, A, U, cache = {}, {}, {}, {}, {}
  for i = 1, #KEYS do
    P[i], A[i], U[i] = params(i)
    local k = KEYS[i]
    if not cache[k] then cache[k] = load(k) end
    S[i] = cache[k]
    advance(S[i], P[i])
  end
  return P, S, A, U
end
`

// reserveScript returns {allowed, denied, retryMs, #audited, audited...,
// then remaining and resetMs per charge}; indexes are 0-based.
var reserveScript = goredis.NewScript(prelude + `
local P, S, A, U = prepare()
local n = #KEYS
local allowed, denied, wait, audited = 1, -1, 0, {}
for i = 1, n do
  local sum = 0
  for j = 1, i do
    if KEYS[j] == KEYS[i] then sum = clamp(sum + A[j], -MAXAMOUNT, MAXAMOUNT) end
  end
  if not fits(S[i], P[i], sum) then
    if U[i] then audited[#audited + 1] = i - 1
    elseif allowed == 1 then allowed, denied, wait = 0, i - 1, retry(S[i], P[i], sum) end
  end
end
if allowed == 1 then
  for i = 1, n do add(S[i], P[i], A[i]) end
  saveAll(S, P)
end
local out = {allowed, denied, wait, #audited}
for _, a in ipairs(audited) do out[#out + 1] = a end
for i = 1, n do
  local r, t = observe(S[i], P[i])
  out[#out + 1] = r
  out[#out + 1] = t
end
return out
`)

// adjustScript adds every amount without checking and returns an empty array.
var adjustScript = goredis.NewScript(prelude + `
local P, S, A = prepare()
for i = 1, #KEYS do
  advance(S[i], P[i])
  add(S[i], P[i], A[i])
end
saveAll(S, P)
return {}
`)

// peekScript returns remaining and resetMs per counter, changing nothing.
var peekScript = goredis.NewScript(prelude + `
local P, S = prepare()
local out = {}
for i = 1, #KEYS do
  local r, t = observe(S[i], P[i])
  out[#out + 1] = r
  out[#out + 1] = t
end
return out
`)
