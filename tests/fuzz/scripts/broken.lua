-- broken.lua: a script for fuzz_script_expr that fails to load.
description = 'fuzz fixture'
categories = {'broken-cat'
hostrule = function( return end
