# line comment
/* block */ 1 /* multi
 line */ + /**/ 2 /***/ + /* * / ** */ 3 # trailing
