let x = "a"; in "${ x }${
 x
}"
