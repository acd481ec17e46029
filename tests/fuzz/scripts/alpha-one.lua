-- alpha-one.lua: a script for fuzz_script_expr to select; does nothing.
description = 'fuzz fixture'
categories = {'safe', 'discovery'}
hostrule = function() return false end
action = function() end
