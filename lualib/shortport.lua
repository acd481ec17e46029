-- shortport.lua: ready-made portrules for trawl scripts.
--   portrule = shortport.http
--   portrule = shortport.port_or_service({21, 2121}, "ftp")
-- A rule is a function(host, port) returning true when the script should
-- run against that port. Port numbers and service names may be a single
-- value or a list; protos defaults to "tcp", states to open (and
-- open|filtered).
local M = {}

local function set(v)
  local s = {}
  if type(v) ~= "table" then v = { v } end
  for _, x in ipairs(v) do s[x] = true end
  return s
end

local function state_ok(port, states)
  return states[port.state] == true
end

function M.portnumber(ports, protos, states)
  local p, pr, st = set(ports), set(protos or "tcp"), set(states or { "open", "open|filtered" })
  return function(host, port)
    return p[port.number] == true and pr[port.protocol] == true and state_ok(port, st)
  end
end

function M.service(services, protos, states)
  local s, pr, st = set(services), set(protos or "tcp"), set(states or { "open", "open|filtered" })
  return function(host, port)
    return port.service ~= nil and s[port.service] == true and pr[port.protocol] == true
      and state_ok(port, st)
  end
end

function M.port_or_service(ports, services, protos, states)
  local a, b = M.portnumber(ports, protos, states), M.service(services, protos, states)
  return function(host, port) return a(host, port) or b(host, port) end
end

M.HTTP_PORTS = { 80, 443, 631, 7080, 8080, 8443, 8088, 5800, 3872, 8180, 8000 }
M.HTTP_SERVICES = { "http", "https", "ipp", "http-alt", "https-alt", "vnc-http", "oem-agent",
  "soap", "http-proxy", "caldav", "carddav", "webdav" }
M.SSL_PORTS = { 261, 271, 324, 443, 465, 563, 585, 636, 853, 989, 990, 992, 993, 994, 995,
  2221, 2252, 2376, 3269, 3389, 4433, 4911, 5061, 5986, 6679, 6697, 8443, 8883, 9001, 8531,
  8888, 9443, 10443 }
M.SSL_SERVICES = { "https", "ssl", "ftps", "imaps", "pop3s", "ldaps", "smtps", "ircs",
  "https-alt", "nntps", "telnets", "xmpps", "sips", "ms-wbt-server", "docker-s" }

M.http = M.port_or_service(M.HTTP_PORTS, M.HTTP_SERVICES)
M.ssl = M.port_or_service(M.SSL_PORTS, M.SSL_SERVICES)

-- Whether to speak TLS first on this port (https and friends).
function M.is_ssl(port)
  return M.ssl(nil, { number = port.number, protocol = port.protocol or "tcp",
    state = "open", service = port.service })
end

return M
