let a = true; b = false; c = true; d = false; in [ (!a || b && c -> d) (a -> b -> c) (a || b || c) (a && b && c) (!a) (!!a) (!a == b) (a == !b) ]
