-- lua-trawl.lua: the parts of the `trawl` module written in Lua, run once
-- with the module table by lua_trawl_open (lua-trawl.c); embedded in the
-- binary at build time (cmake/embed.cmake). trawl.output_table(): a table
-- that remembers the order its keys were set in (for structured output);
-- trawl.format_output(ok, out): NSE's stdnse.format_output shape;
-- trawl.timespec("500ms"): a time argument in milliseconds.
local trawl = ...
function trawl.output_table()
  local keys, vals = {}, {}
  return setmetatable({}, {
    __newindex = function(_, k, v)
      if vals[k] == nil and v ~= nil then keys[#keys + 1] = k
      elseif v == nil and vals[k] ~= nil then
        for i = 1, #keys do if keys[i] == k then table.remove(keys, i) break end end
      end
      vals[k] = v
    end,
    __index = vals,
    __len = function() return #vals end,
    __pairs = function(t)
      local i = 0
      return function() i = i + 1; local k = keys[i]; if k ~= nil then return k, vals[k] end end, t, nil
    end,
  })
end
function trawl.format_output(ok, out) if ok then return out end return nil end
-- "5", "5s", "500ms", "2m", "1h" -> milliseconds (a bare number is seconds);
-- nil for anything else
function trawl.timespec(s)
  if s == nil then return nil end
  local n, unit = tostring(s):match("^%s*([%d%.]+)%s*(%a*)%s*$")
  n = tonumber(n)
  if not n then return nil end
  local mult = ({ [""] = 1000, s = 1000, ms = 1, m = 60000, h = 3600000 })[unit]
  return mult and math.floor(n * mult) or nil
end
