let a' = 1; a-b = 2; _c = 3; iff = 4; inn = 5; or' = 6; rec' = 7; if-then = 8; in [ a' a-b _c iff inn or' rec' if-then ]
