y: 1 + x: x
