{ x, ... }: let inherit x; inherit (x) y z; in [ x y z ]
