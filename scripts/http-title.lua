-- http-title.lua: the title of a web server's default page.
description = [[
Fetches / (or http-title.url) from an HTTP server and shows the page's
<title>. A redirect is reported, not followed.
]]
author = "trawl"
license = "Same as trawl"
categories = { "default", "discovery", "safe" }

local trawl = require "trawl"
local http = require "http"
local shortport = require "shortport"

portrule = shortport.http

action = function(host, port)
  local r = http.get(host, port, trawl.get_script_args(SCRIPT_NAME .. ".url") or "/")
  if not r.status then return nil end
  local redirect
  if r.location then
    redirect = r.location[#r.location]
    if tostring(r.status):match("^30%d$") then
      local o = trawl.output_table()
      o.redirect_url = redirect
      return o, ("Did not follow redirect to %s"):format(redirect)
    end
  end
  if not r.body then return nil end
  local title = r.body:match("<[Tt][Ii][Tt][Ll][Ee][^>]*>([^<]*)</[Tt][Ii][Tt][Ll][Ee]>")
  local shown = title
  if shown and shown ~= "" then
    shown = shown:gsub("[\n\r\t]", "")
    if #shown > 65 then shown = shown:sub(1, 62) .. "..." end
  else
    shown = "Site doesn't have a title"
    if r.header["content-type"] then
      shown = shown .. (" (%s)."):format(r.header["content-type"])
    else
      shown = shown .. "."
    end
  end
  local o = trawl.output_table()
  o.title = title
  o.redirect_url = redirect
  if redirect then shown = shown .. "\n" .. ("Requested resource was %s"):format(redirect) end
  return o, shown
end
