-- ssl-cert.lua: a TLS service's certificate.
description = [[
Connects with TLS and reports the server's certificate: subject, issuer,
subject alternative names, public key type and size, signature algorithm,
validity, and MD5, SHA-1 and SHA-256 fingerprints (the PEM text too with
-v). Structured output has the same fields as tables.
]]
author = "trawl"
license = "Same as trawl"
categories = { "default", "safe", "discovery" }

local trawl = require "trawl"
local shortport = require "shortport"

portrule = shortport.ssl

-- Name fields in a fixed, readable order, the others after them.
local ORDER = { "commonName", "organizationName", "organizationalUnitName", "stateOrProvinceName",
  "localityName", "countryName", "emailAddress" }

local function name_table(n)
  local o = trawl.output_table()
  for _, k in ipairs(ORDER) do if n[k] then o[k] = n[k] end end
  local rest = {}
  for k in pairs(n) do if o[k] == nil then rest[#rest + 1] = k end end
  table.sort(rest)
  for _, k in ipairs(rest) do o[k] = n[k] end
  return o
end

local function name_text(n)
  local parts = {}
  for k, v in pairs(n) do parts[#parts + 1] = k .. "=" .. v end
  return table.concat(parts, "/")
end

-- "a1b2c3d4..." -> "a1b2 c3d4 ..."
local function grouped(hex)
  return (hex:gsub("(....)", "%1 "):gsub(" $", ""))
end

action = function(host, port)
  local sock = trawl.tcp()
  sock:set_timeout(10000)
  local ok, err = sock:connect(host, port, "ssl")
  if not ok then
    trawl.debug(1, "TLS connect to %s:%d failed: %s", host.ip, port.number, err)
    return nil
  end
  local cert
  cert, err = sock:get_ssl_certificate()
  sock:close()
  if not cert then return nil end

  local o = trawl.output_table()
  o.subject = name_table(cert.subject)
  o.issuer = name_table(cert.issuer)
  o.pubkey = trawl.output_table()
  o.pubkey.type = cert.pubkey.type
  o.pubkey.bits = cert.pubkey.bits
  if cert.pubkey.curve then o.pubkey.curve = cert.pubkey.curve end
  if cert.pubkey.exponent then o.pubkey.exponent = cert.pubkey.exponent end
  if cert.san then
    o.extensions = trawl.output_table()
    o.extensions["X509v3 Subject Alternative Name"] = table.concat(cert.san, ", ")
  end
  o.sig_algo = cert.sig_algorithm
  o.validity = trawl.output_table()
  o.validity.notBefore = cert.validity.notBefore
  o.validity.notAfter = cert.validity.notAfter
  o.md5 = cert.md5
  o.sha1 = cert.sha1
  o.sha256 = cert.sha256
  o.pem = cert.pem

  local lines = { "Subject: " .. name_text(o.subject) }
  if cert.san then lines[#lines + 1] = "Subject Alternative Name: " .. table.concat(cert.san, ", ") end
  lines[#lines + 1] = "Issuer: " .. name_text(o.issuer)
  lines[#lines + 1] = "Public Key type: " .. cert.pubkey.type
  lines[#lines + 1] = "Public Key bits: " .. cert.pubkey.bits
  lines[#lines + 1] = "Signature Algorithm: " .. (cert.sig_algorithm or "unknown")
  lines[#lines + 1] = "Not valid before: " .. (cert.validity.notBefore or "?")
  lines[#lines + 1] = "Not valid after:  " .. (cert.validity.notAfter or "?")
  lines[#lines + 1] = "MD5:   " .. grouped(cert.md5)
  lines[#lines + 1] = "SHA-1: " .. grouped(cert.sha1)
  if trawl.verbosity() > 0 then lines[#lines + 1] = cert.pem end
  return o, table.concat(lines, "\n")
end
