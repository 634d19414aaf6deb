{ a ? b, b ? 1 }@args: args
