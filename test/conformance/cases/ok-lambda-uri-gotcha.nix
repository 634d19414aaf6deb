let f = x: x; in f x:x
