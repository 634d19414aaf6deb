rec { a = 1; b = a; c = { d = b; }; }
