-- ssl-cert.lua: a TLS service's certificate.
description = [[
Connects with TLS and reports the server's certificate, as Nmap's ssl-cert
shows it: subject and subject alternative names, validity; with -v (or
when selected by name) also the issuer, public key type and size,
signature algorithm and MD5 and SHA-1 fingerprints; with one -v more all
name fields and the PEM text. Structured output has every field (with the
SHA-256 fingerprint and the extensions) at any verbosity.
]]
author = "trawl"
license = "Same as trawl"
categories = { "default", "safe", "discovery" }

local trawl = require "trawl"
local shortport = require "shortport"

-- Nmap's nselib, when nmap-common is installed (docs/nse.md, "trawl's
-- scripts and Nmap's of the same name"): its shortport.ssl (which probes
-- a port of unknown service for TLS) and sslcert (STARTTLS for SMTP,
-- POP3, IMAP, FTP, LDAP, XMPP, PostgreSQL, ...), so that this script
-- reaches the ports Nmap's ssl-cert does. The global require is NSE's
-- (trawl's own, `require`, prefers lualib's shortport). Nmap's
-- shortport.ssl is asked without the host: the service's TLS tunnel and
-- Nmap's TLS ports and services, never a probe (a rule of trawl's cannot
-- wait on the network: docs/scripting.md).
local have_nse, nsslcert = pcall(_G.require, "sslcert")
local nshortport = have_nse and _G.require("shortport") or nil
if not have_nse then nsslcert = nil end

-- TLS from the first byte (trawl's rule, else Nmap's without probing)
local function direct_tls(host, port)
  return shortport.ssl(host, port) or (nshortport ~= nil and nshortport.ssl(nil, port))
end

portrule = function(host, port)
  if shortport.ssl(host, port) then return true end
  if not nsslcert then return false end
  return direct_tls(host, port) or nsslcert.isPortSupported(port) ~= nil
    or nsslcert.getPrepareTLSWithoutReconnect(port) ~= nil
end

-- The certificate as trawl's sockets give it: over TLS from the start,
-- else through Nmap's sslcert (STARTTLS), whose certificate keeps
-- trawl's own in _trawl (nse-nmap.lua)
local function fetch(host, port)
  if not nsslcert or direct_tls(host, port) then
    local sock = trawl.tcp()
    sock:set_timeout(10000)
    local ok, err = sock:connect(host, port, "ssl")
    if not ok then
      trawl.debug(1, "TLS connect to %s:%d failed: %s", host.ip, port.number, err)
      return nil
    end
    local cert = sock:get_ssl_certificate()
    sock:close()
    return cert
  end
  local ok, cert = nsslcert.getCertificate(host, port)
  if not ok or type(cert) ~= "table" then
    trawl.debug(1, "STARTTLS on %s:%d failed: %s", host.ip, port.number, tostring(cert))
    return nil
  end
  return cert._trawl
end

-- Name fields shown (in this order) without a high verbosity; the others
-- join them from -v -v (or -v for a script selected by name).
local SHORT = { "commonName", "organizationName", "stateOrProvinceName", "countryName" }

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end

local function name_table(n)
  local o = trawl.output_table()
  for _, k in ipairs(sorted_keys(n)) do o[k] = n[k] end
  return o
end

local function name_text(n, all)
  local parts, seen = {}, {}
  for _, k in ipairs(SHORT) do
    if n[k] then parts[#parts + 1] = k .. "=" .. n[k]; seen[k] = true end
  end
  if all then
    for _, k in ipairs(sorted_keys(n)) do
      if not seen[k] then parts[#parts + 1] = k .. "=" .. n[k] end
    end
  end
  return table.concat(parts, "/")
end

action = function(host, port)
  local cert = fetch(host, port)
  if not cert then return nil end

  local o = trawl.output_table()
  o.subject = name_table(cert.subject)
  o.issuer = name_table(cert.issuer)
  o.pubkey = trawl.output_table()
  o.pubkey.type = cert.pubkey.type
  o.pubkey.bits = cert.pubkey.bits
  if cert.pubkey.curve then o.pubkey.curve = cert.pubkey.curve end
  if cert.pubkey.exponent then o.pubkey.exponent = cert.pubkey.exponent end
  local san
  if cert.extensions and #cert.extensions > 0 then
    o.extensions = {}
    for i, x in ipairs(cert.extensions) do
      local e = trawl.output_table()
      e.name = x.name
      e.value = x.value
      e.critical = x.critical
      o.extensions[i] = e
      if x.name == "X509v3 Subject Alternative Name" then san = san or x.value end
    end
  end
  o.sig_algo = cert.sig_algorithm
  o.validity = trawl.output_table()
  o.validity.notBefore = cert.validity.notBefore
  o.validity.notAfter = cert.validity.notAfter
  o.md5 = cert.md5
  o.sha1 = cert.sha1
  o.sha256 = cert.sha256
  o.pem = cert.pem

  -- the text, as Nmap's ssl-cert shows it at each verbosity
  local v = trawl.verbosity()
  local lines = { "Subject: " .. name_text(cert.subject, v > 1) }
  if san then lines[#lines + 1] = "Subject Alternative Name: " .. san end
  if v > 0 then
    lines[#lines + 1] = "Issuer: " .. name_text(cert.issuer, v > 1)
    lines[#lines + 1] = "Public Key type: " .. cert.pubkey.type
    lines[#lines + 1] = "Public Key bits: " .. cert.pubkey.bits
    lines[#lines + 1] = "Signature Algorithm: " .. (cert.sig_algorithm or "unknown")
  end
  lines[#lines + 1] = "Not valid before: " .. (cert.validity.notBefore or "MISSING")
  lines[#lines + 1] = "Not valid after:  " .. (cert.validity.notAfter or "MISSING")
  if v > 0 then
    lines[#lines + 1] = "MD5:   " .. cert.md5
    lines[#lines + 1] = "SHA-1: " .. cert.sha1
  end
  if v > 1 then lines[#lines + 1] = cert.pem end
  return o, table.concat(lines, "\n")
end
