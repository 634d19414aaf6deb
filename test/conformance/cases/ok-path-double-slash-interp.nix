let x = "y"; in a/b//c${x}
