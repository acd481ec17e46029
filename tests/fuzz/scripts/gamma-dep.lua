-- gamma-dep.lua: a script for fuzz_script_expr that depends on beta.
description = 'fuzz fixture'
categories = {'version'}
dependencies = {'beta'}
postrule = function() return false end
action = function() end
