/***** stars *****/ /* ends with **/ 1
