1 + with { }; 1
