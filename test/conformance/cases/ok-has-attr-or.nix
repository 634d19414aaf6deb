{ a, ... }: a ? b && a.b or false
