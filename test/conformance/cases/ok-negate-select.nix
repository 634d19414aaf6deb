let a = { b = 1; }; in [ (-a.b) (- a.b) (-a.b or 2) ]
