{ a ? 1 + 2, b ? { c = 1; }, c ? x: x, d ? let e = 1; in e, ... }: a
