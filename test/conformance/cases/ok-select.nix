let a = { b = { c = 1; }; }; n = "b"; in [ a.b a.b.c a."b" a.${n} a.${n}.c a.x or 1 a.b.x or a.b.c a.x or a.y or 3 ({ q = 1; }).q a . b ]
