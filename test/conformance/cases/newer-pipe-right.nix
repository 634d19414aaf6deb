let f = x: x; in 1 |> f |> f
