let a = { }; in a.''b''
