let x = { a = "b"; }; in "${ { c = x.a; }.c }"
