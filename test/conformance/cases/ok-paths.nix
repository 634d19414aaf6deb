[ ./a ../a/b /abs/x ~/x a/b ./a.nix ./-a+b_c.d ./a/b/c/d.nix /. ./.. ]
