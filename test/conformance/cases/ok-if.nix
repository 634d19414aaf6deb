let a = true; in if a then if a then 1 else 2 else if !a then 3 else 4
