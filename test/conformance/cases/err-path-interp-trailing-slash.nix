let n = "a"; in ./${n}/
