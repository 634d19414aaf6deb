{ a, b, c, q, r, ... }: { inherit a; inherit (b) x y; inherit "q"; inherit ${"r"}; inherit (c) "s"; inherit; }
