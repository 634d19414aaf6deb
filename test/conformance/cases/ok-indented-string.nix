let x = "v"; in ''
  first
    indented
  ${x} after
  ''$ and ''' and ''\n ''\t ''\x
  $x $$ $'a' 'b' ''${x}
''
