let a = 4; b = 2; in [ (a / b) (a/ b) ]
