let or = x: x; map = f: l: l; in [ (map or [ 1 ]) (map or) ]
