let a = { or = 1; }; in [ a.or a.or or 2 ]
