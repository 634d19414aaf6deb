let f = a: b: c: a; g = x: x; in [ (f 1 2 3) (f (g 1) [ 1 ] { }) (g g g 1) (g rec { }) (g ./p) (g <x>) (g "s") (g '' s '') ]
