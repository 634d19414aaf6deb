''
  ''' triple ''\'' done
''
