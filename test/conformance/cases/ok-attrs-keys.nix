x: { a = 1; a'-b_c = 2; "quoted key" = 3; ${"interp"} = 4; "${x}" = 5; ${x} = 6; e.f.g = 7; "h".${"i"}.j = 8; or = 9; k.or = 10; "" = 11; }
