-- beta.lua: a script for fuzz_script_expr, with a category of its own.
description = 'fuzz fixture'
categories = {'default', 'safe', 'fuzzcat'}
prerule = function() return false end
action = function() end
