{ inherit "q"; }
