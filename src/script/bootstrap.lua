-- bootstrap.lua: the Lua side of the script engine, run once per engine
-- (script-bootstrap.c) before any script loads; embedded in the binary at
-- build time (cmake/embed.cmake). Arguments: MARK, what a C function that
-- suspends its script thread yields; cocreate, coroutine.create for
-- scripts (the new coroutine knows its script thread); FLAT, the mark of a
-- flattened table result. It makes coroutine.resume/wrap pass MARK up to
-- the thread's top, so a script's own coroutines can wait on the network,
-- and returns keys (the order in which a result table is written) and
-- runner (calls an action and flattens a table result, in the script's
-- own thread so a huge one can be preempted; script-runner.c builds the
-- output tree from the arrays).
local MARK, cocreate, FLAT = ...
local co_resume, co_yield, co_status = coroutine.resume, coroutine.yield, coroutine.status
local select, rawequal, error = select, rawequal, error
local function pass(co, ok, ...)
  if ok and select('#', ...) == 1 and rawequal((...), MARK) and co_status(co) == 'suspended' then
    return pass(co, co_resume(co, co_yield(MARK)))
  end
  return ok, ...
end
coroutine.create = cocreate
local function resume(co, ...) return pass(co, co_resume(co, ...)) end
coroutine.resume = resume
local function unwrap(ok, ...) if not ok then error((...), 0) end return ... end
coroutine.wrap = function(f)
  local co = cocreate(f)
  return function(...) return unwrap(resume(co, ...)) end
end
local mtype, tostring, sort, getmetatable, next, pairs, rawlen = math.type, tostring, table.sort, getmetatable, next, pairs, rawlen
-- keys(t) -> the keys in output order; for a table with __pairs, also
-- the values its iteration gave (such a table, NSE's outlib.sorted_by_key
-- for one, may have no __index giving them back)
local function keys(t)
  local out, n = {}, 0
  local mt = getmetatable(t)
  if mt and mt.__pairs then
    local vals = {}
    for k, v in pairs(t) do n = n + 1; out[n] = k; vals[n] = v end
    return out, vals
  end
  local len = rawlen(t)
  for i = 1, len do if t[i] == nil then len = i - 1 break end out[i] = i end
  n = len
  local rest = {}
  for k in next, t do if not (mtype(k) == 'integer' and k >= 1 and k <= len) then rest[#rest + 1] = k end end
  sort(rest, function(a, b) return tostring(a) < tostring(b) end)
  for i = 1, #rest do out[n + i] = rest[i] end
  return out
end
local type, getmetatable, concat = type, getmetatable, table.concat
-- An action's table result, walked here in the script's own thread (so
-- a huge one can be preempted): parallel arrays of node kinds (1 table,
-- 2 elem, 3 end of table), keys (false: none) and values, and the text.
local function flatten(root)
  local kinds, ks, vs, n, lines, nl = {}, {}, {}, 0, {}, 0
  local function walk(t, depth, indent)
    if depth > 40 then return end
    local order, vals = keys(t)
    for i = 1, #order do
      local k = order[i]
      local v
      if vals then v = vals[i] else v = t[k] end
      local key = false
      if type(k) == 'string' then key = k elseif mtype(k) ~= 'integer' then key = tostring(k) end
      local head = key and (indent .. key .. ': ') or indent
      local mt = type(v) == 'table' and getmetatable(v)
      if type(v) == 'table' and not (mt and mt.__tostring) then
        n = n + 1; kinds[n] = 1; ks[n] = key
        nl = nl + 1; lines[nl] = head
        walk(v, depth + 1, indent .. '  ')
        n = n + 1; kinds[n] = 3
      else
        local sv = tostring(v)
        n = n + 1; kinds[n] = 2; ks[n] = key; vs[n] = sv
        nl = nl + 1; lines[nl] = head .. sv
      end
    end
  end
  walk(root, 0, '  ')
  return kinds, ks, vs, n, nl > 0 and ('\n' .. concat(lines, '\n')) or ''
end
local function finish(v1, v2, ...)
  if type(v1) ~= 'table' then return v1, v2, ... end
  local kinds, ks, vs, n, text = flatten(v1)
  local mt = getmetatable(v1)
  if type(v2) == 'string' or type(v2) == 'number' then text = tostring(v2)
  elseif mt and mt.__tostring then text = tostring(v1) end
  return FLAT, text, kinds, ks, vs, n
end
local function runner(action, ...) return finish(action(...)) end
return keys, runner
