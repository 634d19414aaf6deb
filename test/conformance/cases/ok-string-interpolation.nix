let x = "b"; y = 1; in [ "a${x}c" "${x}" "${x}${x}" "${toString y}" "${ "nested ${x}" }" "${{ a = x; }.a}" ]
