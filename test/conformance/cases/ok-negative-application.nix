let f = x: x; in (f -1) - f 1
