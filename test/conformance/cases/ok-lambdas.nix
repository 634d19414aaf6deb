[ (x: x) (x: y: x) ({ }: 1) ({ ... }: 1) ({ a }: a) ({ a, }: a) ({ a, b ? 2, ... }: a) (args@{ a }: a) ({ a } @ args: args) ({ a ? b, b ? a }: a) (a @ { ... }: a) ]
