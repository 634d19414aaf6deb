{ config, lib, pkgs, ... }:

let
  cfg = config.services.foo;
in
{
  imports = [ ./hardware-configuration.nix ];
  options.services.foo.enable = lib.mkEnableOption "foo";
  config = lib.mkIf cfg.enable {
    system.stateVersion = "24.05";
    services.postgresql.package = pkgs.postgresql_15;
    networking.hostName = lib.mkDefault "host";
    boot.kernelParams = lib.mkForce [ "quiet" ];
    environment.etc."x.conf".text = ''
      key = ${toString 1}
    '';
  };
}
