with { a = 1; }; with builtins; a + length [ ]
