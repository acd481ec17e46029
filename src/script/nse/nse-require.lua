-- nse-require.lua: the `require` of trawl's own scripts. trawl's lualib/
-- and Nmap's nselib/ both have modules named http, shortport and mqtt,
-- with different interfaces, in one Lua state: the global require (and
-- package.path) serves Nmap's scripts and nselib, and trawl's scripts get
-- this one in their environment (script-loader.c): a module of trawl's
-- lualib directory is loaded from there, in an environment whose require
-- is this one too, and kept apart from package.loaded; any other name
-- goes to the global require. Run once by nse_nmap_open with the lualib
-- directory ("" for none); returns the function. Embedded at build time.
local libdir = ...
local loaded = {}
local searchpath, loadfile, setmetatable, error = package.searchpath, loadfile, setmetatable, error
local grequire, G = require, _G
local function req(name)
  local m = loaded[name]
  if m ~= nil then return m end
  local path = type(name) == "string" and libdir ~= "" and searchpath(name, libdir .. "/?.lua")
  if not path then return grequire(name) end
  local env = setmetatable({require = req}, {__index = G})
  local f, err = loadfile(path, "t", env)
  if not f then error(err, 2) end
  m = f(name, path)
  if m == nil then m = true end
  loaded[name] = m
  return m
end
return req
