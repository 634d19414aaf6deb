let a = 1; b = a + 1; in let c = b; in c
