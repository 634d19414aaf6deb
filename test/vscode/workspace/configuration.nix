{ pkgs, ... }:
{
  networking.hostName = "nixbox";
  boot.loader.systemd-boot.enable = true;
  services.openssh.enable = true;
  environment.systemPackages = [ pkgs.git ];

  # Set at the first install; never change it.
  system.stateVersion = "24.05";
}
