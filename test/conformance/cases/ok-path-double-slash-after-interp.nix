let x = "y"; in ./a${x}/b//c
