x: y:
