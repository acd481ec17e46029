-- http.lua: a small HTTP/1.1 client for trawl scripts, on trawl sockets.
--   local http = require "http"
--   local r = http.get(host, port, "/")       -- r.status, r.header, r.body
--   local r = http.head(host, port, "/")
--   local r = http.request(host, port, "OPTIONS", "/", { header = {...} })
-- Each returns a response table; on failure r.status is nil and r.error
-- says why ("TIMEOUT", "Connection refused", ...). Ports that are likely
-- TLS (443, 8443, service https...) are tried over SSL first, then plain
-- (others plain, then SSL), as Nmap's comm.tryssl does; opts.ssl forces
-- either way. The connection is closed after each request
-- ("Connection: close"), bodies are read by Content-Length, chunked
-- encoding or until EOF, at most opts.max_body bytes (default 2 MiB) and
-- opts.timeout (default 10 s) for the whole body.
local trawl = require "trawl"
local shortport = require "shortport"

local M = {}

M.USER_AGENT = "Mozilla/5.0 (compatible; trawl Scripting Engine)"

local function hostname(host)
  if type(host) == "table" then
    return host.targetname or (host.name ~= "" and host.name) or host.ip
  end
  return host
end

local function hostheader(host, port)
  local h = hostname(host)
  if h:find(":", 1, true) then h = "[" .. h .. "]" end
  local n = type(port) == "table" and port.number or port
  local ssl = type(port) == "table" and shortport.is_ssl(port)
  if (n == 80 and not ssl) or (n == 443 and ssl) then return h end
  return h .. ":" .. n
end

local function parse_head(text, r)
  local first = true
  r.rawheader = {}
  r.header = {}
  for line in text:gmatch("([^\r\n]*)\r?\n") do
    if first then
      r.status_line = line
      local v, code = line:match("^HTTP/(%d%.%d) (%d%d%d)")
      r.version, r.status = v, tonumber(code)
      first = false
    elseif line ~= "" then
      r.rawheader[#r.rawheader + 1] = line
      local k, val = line:match("^([^:]+):%s*(.-)%s*$")
      if k then
        k = k:lower()
        if r.header[k] then r.header[k] = r.header[k] .. ", " .. val else r.header[k] = val end
        if k == "location" then
          r.location = r.location or {}
          r.location[#r.location + 1] = val
        end
      end
    end
  end
end

-- Decode a chunked body; returns the body and whether it was complete.
local function dechunk(data)
  local out, pos = {}, 1
  while true do
    local s, e, size = data:find("^(%x+)[^\r\n]*\r?\n", pos)
    if not s then return table.concat(out), false end
    size = tonumber(size, 16)
    if size == 0 then return table.concat(out), true end
    if #data < e + size then return table.concat(out), false end
    out[#out + 1] = data:sub(e + 1, e + size)
    pos = e + size + 1
    local _, e2 = data:find("^\r?\n", pos)
    pos = (e2 or pos - 1) + 1
  end
end

-- One try over proto ("ssl" or "tcp"): connect, send the request, read the
-- response head. Returns the socket and the head, or nil and the error.
local function try(host, port, proto, req, timeout)
  local sock = trawl.tcp()
  sock:set_timeout(timeout)
  local ok, err = sock:connect(host, port, proto)
  if not ok then return nil, err end
  ok, err = sock:send(req)
  if not ok then
    sock:close()
    return nil, err
  end
  local head
  ok, head = sock:receive_buf("\r?\n\r?\n", true)
  if not ok then
    sock:close()
    return nil, head
  end
  return sock, head
end

function M.request(host, port, method, path, opts)
  opts = opts or {}
  local r = {}
  local lines = { ("%s %s HTTP/1.1"):format(method, path or "/"),
    "Host: " .. hostheader(host, port), "User-Agent: " .. (opts.user_agent or M.USER_AGENT),
    "Connection: close" }
  for k, v in pairs(opts.header or {}) do lines[#lines + 1] = k .. ": " .. v end
  local req = table.concat(lines, "\r\n") .. "\r\n\r\n" .. (opts.body or "")
  -- As Nmap's comm.tryssl: TLS first on ports that look like TLS, plain
  -- first elsewhere, and the other way when the first gets no response
  -- (an https port serving plain HTTP, say). opts.ssl forces one way.
  local protos
  if opts.ssl ~= nil then
    protos = { opts.ssl and "ssl" or "tcp" }
  elseif type(port) == "table" and shortport.is_ssl(port) then
    protos = { "ssl", "tcp" }
  else
    protos = { "tcp", "ssl" }
  end
  local sock, head
  for _, proto in ipairs(protos) do
    sock, head = try(host, port, proto, req, opts.timeout or 10000)
    if sock then break end
    r.error = head
    if head == "Connection refused" then break end
  end
  if not sock then return r end
  r.error = nil
  parse_head(head, r)
  if not r.status then
    sock:close()
    r.error = "not an HTTP response"
    return r
  end
  local max = opts.max_body or 2 * 1024 * 1024
  local len = tonumber(r.header["content-length"] or "")
  local parts, got = {}, 0
  if method ~= "HEAD" and r.status ~= 204 and r.status ~= 304 and not (r.status >= 100 and r.status < 200) then
    if len then
      if len > 0 then
        local s, data = sock:receive_bytes(math.min(len, max))
        if s then parts[1] = data end
      end
    else
      -- The whole body within one timeout: a server that drips an endless
      -- body (one small chunk every few seconds) must not hold the script.
      local timeout = opts.timeout or 10000
      local body_end = trawl.clock_ms() + timeout
      while got < max do
        local left = body_end - trawl.clock_ms()
        if left <= 0 then break end
        sock:set_timeout(left)
        local s, data = sock:receive()
        if not s then break end
        parts[#parts + 1] = data
        got = got + #data
        if r.header["transfer-encoding"] and r.header["transfer-encoding"]:lower():find("chunked") then
          local _, complete = dechunk(table.concat(parts))
          if complete then break end
        end
      end
    end
    local body = table.concat(parts)
    if len and #body > len then body = body:sub(1, len) end
    if r.header["transfer-encoding"] and r.header["transfer-encoding"]:lower():find("chunked") then
      body = dechunk(body)
    end
    r.body = body
  end
  sock:close()
  return r
end

function M.get(host, port, path, opts) return M.request(host, port, "GET", path, opts) end
function M.head(host, port, path, opts) return M.request(host, port, "HEAD", path, opts) end

return M
