{ x, ... }: rec { inherit x; y = x; }
