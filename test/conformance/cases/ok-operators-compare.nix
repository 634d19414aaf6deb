let a = 1; b = 2; c = 3; d = 4; in [ (a < b) (a <= b) (a > b) (a >= b) (a == b) (a != b) (a < b == c < d) (a == b && b != c) ]
