# comment with  carriage return
1
