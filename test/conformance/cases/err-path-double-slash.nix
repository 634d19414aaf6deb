[ a/b//c ]
