let a = { b = 1; }; f = x: x; in [ 1 "a" ./p (f 1) [ ] { } a.b a.c or 2 [ [ [ ] ] ] -1 ]
