{
  description = "Test workspace for the NixOS Generations extension";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";

  outputs =
    { self, nixpkgs }:
    {
      nixosConfigurations.nixbox = nixpkgs.lib.nixosSystem {
        system = "x86_64-linux";
        modules = [
          ./configuration.nix
          { system.configurationRevision = self.rev or self.dirtyRev or null; }
        ];
      };
    };
}
