-- http-headers.lua: the headers a web server answers with.
description = [[
Sends a HEAD request for / (or http-headers.path; with http-headers.useget a
GET) and lists the response's header lines.
]]
author = "trawl"
license = "Same as trawl"
categories = { "discovery", "safe" }

local trawl = require "trawl"
local http = require "http"
local shortport = require "shortport"

portrule = shortport.http

action = function(host, port)
  local path = trawl.get_script_args(SCRIPT_NAME .. ".path") or "/"
  local method = trawl.get_script_args(SCRIPT_NAME .. ".useget") and "GET" or "HEAD"
  local r = http.request(host, port, method, path)
  if not r.status and method == "HEAD" then
    method = "GET"
    r = http.request(host, port, method, path)
  end
  if not r.status then
    return nil
  end
  local out = {}
  for i, line in ipairs(r.rawheader) do out[i] = line end
  out[#out + 1] = ""
  out[#out + 1] = ("(Request type: %s)"):format(method)
  return out
end
