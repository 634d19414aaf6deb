let n = "x"; in [ ./a/${n} ./a/${n}/b ./a${n} ./${n}.nix /abs/${n} ~/${n} a/${n}/c ./a/${n}${n}/d ]
