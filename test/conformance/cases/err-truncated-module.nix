{ config, lib, ... }:
{
  system.stateVersion = "24.05";
  services.nginx = {
    enable = true;
