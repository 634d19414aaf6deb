{ pkgs, ... }:
{
  networking.hostName = "nixbox";
  boot.loader.systemd-boot.enable = true;
  services.openssh.enable = true;
  environment.systemPackages = [ pkgs.git ];

  # Never change this after the first install (see the NixOS manual).
  system.stateVersion = "24.05";
}
