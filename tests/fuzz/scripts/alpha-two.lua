-- alpha-two.lua: a script for fuzz_script_expr to select; does nothing.
description = 'fuzz fixture'
categories = {'intrusive', 'vuln'}
portrule = function() return false end
action = function() end
