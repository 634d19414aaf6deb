[ builtins.length __length map toString import true false null derivation abort throw baseNameOf dirOf isNull removeAttrs fetchTarball __sub __lessThan __findFile __nixPath ]
