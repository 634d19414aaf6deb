let a = { }; in a.
