-- nse-nmap.lua: the `nmap` module that Nmap's NSE scripts and nselib
-- require, written over trawl's own bindings (the `trawl` module: sockets,
-- clocks, mutexes, DNS, set_port_version) plus a few C helpers of
-- nse-nmap.c (C: port state, interfaces, address family, timing). Run
-- once per engine as package.preload.nmap; embedded in the binary at build
-- time (cmake/embed.cmake). docs/nse.md lists every nmap.* function NSE
-- has and says which exist here. Return conventions follow nsock: a
-- network call gives `true, ...` or `false, "TIMEOUT"|"EOF"|message`.
local trawl, C, nmapdir = ...
local nmap = {}

local type, select, setmetatable, tonumber, error = type, select, setmetatable, tonumber, error

-- ---- the engine's state ------------------------------------------------------
nmap.registry = trawl.registry
nmap.registry.args = trawl.args
nmap.verbosity = trawl.verbosity
nmap.debugging = trawl.debugging
nmap.clock = trawl.clock
nmap.clock_ms = trawl.clock_ms
nmap.is_privileged = trawl.is_privileged
nmap.have_ssl = function() return true end
nmap.address_family = C.address_family
nmap.timing_level = C.timing_level
nmap.version_intensity = C.version_intensity
nmap.get_ttl = C.get_ttl
nmap.get_payload_length = C.get_payload_length
nmap.get_port_state = C.get_port_state
nmap.get_ports = C.get_ports
nmap.set_port_state = C.set_port_state
nmap.get_interface = C.get_interface
nmap.get_interface_info = C.get_interface_info
nmap.list_interfaces = C.list_interfaces
-- --exclude-ports is applied by the scan itself: ports the scripts see are
-- never excluded ones
nmap.port_is_excluded = function(port, proto) return false end

function nmap.set_port_version(host, port, probestate)
  return trawl.set_port_version(host, port)
end

-- ---- threads: mutexes and condition variables (NSE's function style) ---------
-- ops: "lock", "unlock", "trylock", "running", and "done" (release it if
-- this thread holds it: the run is finished with it)
-- A rule runs to its end without yielding (trawl's rules cannot wait, and
-- nothing else runs meanwhile): there a free mutex needs no locking, and
-- lock/unlock/done are no-ops; a held one cannot be waited for (error).
function nmap.mutex(obj)
  local m = trawl.mutex(obj)
  return function(op)
    if not C.in_thread() and op ~= "running" then
      if op == "trylock" then return not m:locked() end
      if op == "lock" and m:locked() then return m(op) end -- says why it cannot wait
      return true
    end
    if op == "done" then
      if m:locked() then pcall(m.unlock, m) end
      return
    end
    return m(op)
  end
end
-- As in NSE, the thread that takes a condition variable broadcasts it when
-- it ends, even by an error: a parent waiting for its workers wakes when
-- one fails (lua-sync.c).
function nmap.condvar(obj)
  local c = trawl.condvar(obj, true)
  return function(op) return c(op) end
end

-- ---- nmap.new_try --------------------------------------------------------------
-- The error object an NSE try raises; the engine ends a run that raised
-- it quietly (script-runner.c), as NSE does.
local try_mt = {__tostring = function(e) return "nmap.new_try: " .. tostring(e.message) end}
function nmap.new_try(handler)
  return function(status, ...)
    if status then return ... end
    if handler then handler() end
    error(setmetatable({errtype = "nmap.new_try", message = (...)}, try_mt), 0)
  end
end

-- nmap.get_random_bytes(n): n bytes from the kernel's generator
function nmap.get_random_bytes(n)
  n = math.tointeger(n) or 0
  if n <= 0 then return "" end
  local f = assert(io.open("/dev/urandom", "rb"))
  local s = f:read(n)
  f:close()
  return s
end

-- ---- names ---------------------------------------------------------------------
function nmap.resolve(name, family)
  local fam = nil
  if family == "inet" or family == "inet6" then fam = family end
  local addrs, err = trawl.resolve(name, fam)
  if not addrs then return false, err end
  return true, addrs
end

function nmap.get_dns_servers()
  local out = {}
  local f = io.open("/etc/resolv.conf", "r")
  if not f then return out end
  for line in f:lines() do
    local a = line:match("^%s*nameserver%s+(%S+)")
    if a then out[#out + 1] = a end
  end
  f:close()
  return out
end

-- ---- files -----------------------------------------------------------------------
-- nmap.fetchfile("nselib/data/x") -> a path under Nmap's data directory
-- (read only), or nil
function nmap.fetchfile(name)
  if type(name) ~= "string" or name:find("%.%.") then return nil end
  for _, dir in ipairs({nmapdir}) do
    if dir ~= "" then
      local p = dir .. "/" .. name
      local f = io.open(p, "r")
      if f then f:close() return p end
    end
  end
  return nil
end

-- nmap.log_write("stdout"|"stderr", text)
function nmap.log_write(where, s)
  local f = where == "stdout" and io.stdout or io.stderr
  f:write(tostring(s), "\n")
end

-- ---- sockets: trawl's, with nsock's return values ---------------------------------
local Socket = {}
Socket.__index = Socket

local function nsock(ok, ...)
  if ok then return ok, ... end
  return false, ...
end

function nmap.new_socket(proto, af)
  local self = setmetatable({proto = proto or "tcp"}, Socket)
  self.s = trawl.new_socket(self.proto == "udp" and "udp" or "tcp")
  return self
end

-- A port table or number as a number, or nil
local function port_number(port)
  if type(port) == "table" then port = port.number end
  return tonumber(port)
end
-- The trawl socket was made for TCP: make it anew as UDP (nothing sent yet)
local function as_udp(self)
  if self.proto == "udp" then return end
  local t = self.timeout
  self.s:close()
  self.s = trawl.new_socket("udp")
  self.proto = "udp"
  if t then self.s:set_timeout(t) end
end
function Socket:connect(host, port, proto)
  proto = proto or (type(port) == "table" and port.protocol) or self.proto or "tcp"
  if proto ~= "udp" and proto ~= "ssl" then proto = "tcp" end
  if proto == "udp" then as_udp(self) end
  port = port_number(port)
  if not port then return false, "invalid port" end
  return nsock(self.s:connect(host, port, proto))
end
function Socket:send(d) return nsock(self.s:send(d)) end
function Socket:receive() return nsock(self.s:receive()) end
function Socket:receive_bytes(n) return nsock(self.s:receive_bytes(n)) end
function Socket:receive_lines(n) return nsock(self.s:receive_lines(n)) end
function Socket:receive_buf(delim, keep) return nsock(self.s:receive_buf(delim, keep)) end
function Socket:close()
  if self.pcap then self.pcap:close() self.pcap = nil end
  return nsock(self.s:close())
end
function Socket:set_timeout(ms)
  self.timeout = ms
  self.s:set_timeout(ms)
end
function Socket:get_info() return nsock(self.s:get_info()) end
function Socket:reconnect_ssl() return nsock(self.s:reconnect_ssl()) end
-- socket:bind(addr, port) and socket:sendto(host, port, data): an
-- unconnected UDP socket that hears every sender (get_info names the last
-- one), as nsock's. A name is resolved first. After privileges are
-- dropped, ports under 1024 cannot be bound (EACCES).
function Socket:bind(addr, port)
  if self.proto ~= "udp" then return false, "bind: only UDP sockets can be bound in trawl" end
  return nsock(self.s:bind(addr, tonumber(port) or 0))
end

function Socket:sendto(host, port, data)
  port = port_number(port)
  if not port then return false, "invalid port" end
  if type(host) == "table" then host = host.ip end
  host = tostring(host)
  if not host:match("^[%d.]+$") and not host:find(":", 1, true) then
    local addrs, err = trawl.resolve(host)
    if not addrs or not addrs[1] then return false, err or "Failed to resolve" end
    host = addrs[1]
  end
  as_udp(self)
  return nsock(self.s:sendto(host, port, data))
end

-- ---- the capture side: pcap_open / pcap_receive / pcap_close (nse-pcap.c) --------
function Socket:pcap_open(device, snaplen, promisc, bpf)
  if self.pcap then self.pcap:close() end
  local p, err = C.pcap_open(device, snaplen, promisc, bpf)
  if not p then error("pcap_open: " .. tostring(err), 2) end
  self.pcap = p
end
function Socket:pcap_receive()
  if not self.pcap then return false, "pcap is not open" end
  return self.pcap:receive(self.timeout or 30000)
end
function Socket:pcap_close()
  if self.pcap then self.pcap:close() self.pcap = nil end
end

-- ---- nmap.new_dnet(): raw IP packets and Ethernet frames, sent with the
-- engine's raw sockets (opened before privileges were dropped:
-- trawl.raw_send); errors as NSE raises them ------------------------------
local Dnet = {}
Dnet.__index = Dnet
function nmap.new_dnet() return setmetatable({}, Dnet) end
function Dnet:ip_open() self.ip = true return true end
function Dnet:ip_close() self.ip = nil return true end
function Dnet:ip_send(packet, dst)
  if not self.ip then error("dnet is not valid opened ip socket", 2) end
  local ok, err = trawl.raw_send(packet)
  if ok then return true end
  return false, err
end
function Dnet:ethernet_open(dev)
  local info = type(dev) == "string" and trawl.get_interface_info(dev)
  if not info or info.link ~= "ethernet" then
    error("device is not valid ethernet interface", 2)
  end
  self.eth = dev
  return true
end
function Dnet:ethernet_send(frame)
  if not self.eth then error("dnet is not valid opened ethernet interface", 2) end
  local ok, err = trawl.raw_send(frame, self.eth)
  if ok then return true end
  return false, err
end
function Dnet:ethernet_close() self.eth = nil return true end

-- A certificate as nsock gives one: validity dates as tables, cert:digest()
local Cert = {}
Cert.__index = Cert
local function date_table(s)
  if type(s) ~= "string" then return s end
  local y, mo, d, h, mi, se = s:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)")
  if not y then return s end
  return {year = tonumber(y), month = tonumber(mo), day = tonumber(d),
          hour = tonumber(h), min = tonumber(mi), sec = tonumber(se)}
end
function Cert:digest(kind)
  local hex = self._digests[tostring(kind):lower()]
  return hex and trawl.fromhex(hex) or nil
end
local function nse_cert(c)
  -- _trawl: the certificate as trawl's sockets give it (trawl's own
  -- ssl-cert reads it when Nmap's sslcert fetched it over STARTTLS)
  local o = setmetatable({_digests = {md5 = c.md5, sha1 = c.sha1, sha256 = c.sha256}, _trawl = c}, Cert)
  for k, v in pairs(c) do o[k] = v end
  o.validity = {notBefore = date_table(c.validity and c.validity.notBefore),
                notAfter = date_table(c.validity and c.validity.notAfter)}
  local pk = c.pubkey or {}
  o.pubkey = {type = pk.type, bits = pk.bits}
  local okssl, openssl = pcall(require, "openssl")
  if okssl and pk.exponent and openssl.bignum_dec2bn then
    o.pubkey.exponent = openssl.bignum_dec2bn(pk.exponent)
  end
  if okssl and pk.modulus and openssl.bignum_hex2bn then
    o.pubkey.modulus = openssl.bignum_hex2bn(pk.modulus)
  end
  if pk.curve then
    o.pubkey.ecdhparams = {curve_params = {ec_curve_type = "namedcurve", curve = pk.curve}}
  end
  return o
end
function Socket:get_ssl_certificate()
  local c, err = self.s:get_ssl_certificate()
  if not c then return nil, err end
  return nse_cert(c)
end

-- ---- things NSE has that trawl does not (docs/nse.md says why) ----------------------
local function missing(name)
  return function()
    error("nmap." .. name .. " is not available in trawl (docs/nse.md)", 2)
  end
end
for _, name in ipairs({"get_payload"}) do
  nmap[name] = missing(name)
end

-- stdnse.silent_require, which NSE's engine (not nselib) adds to stdnse:
-- nse-nmap.c's stdnse loader puts this there. A module that is not there
-- fails the script's loading with the module's name in the message (the
-- engine reports it and skips the script).
function nmap._silent_require(...)
  local ok, m = pcall(require, ...)
  if not ok then error(m, 0) end
  return m
end

-- nmap.socket.parse_ssl_certificate(der): sslcert.lua's parser when
-- openssl is there
local function parse_ssl_certificate(der)
  local c, err = trawl.parse_certificate(der)
  if not c then return nil, err end
  return nse_cert(c)
end

-- What NSE's engine (not nselib) adds to stdnse, put there by
-- nse-nmap.c's stdnse loader: silent_require above, and the current
-- run's script id, "id host:port" info, and host and port tables.
function nmap._stdnse_engine(stdnse)
  rawset(stdnse, "silent_require", nmap._silent_require)
  rawset(stdnse, "getid", function() return C.script_id() end)
  rawset(stdnse, "getinfo", function() return C.script_info() end)
  rawset(stdnse, "gethostport", function() return C.host_port() end)
  rawset(stdnse, "new_thread", C.new_thread)
  rawset(stdnse, "base", C.base)
end

nmap.socket = {sleep = trawl.sleep, parse_ssl_certificate = parse_ssl_certificate}
return nmap
