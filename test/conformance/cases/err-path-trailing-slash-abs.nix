[ /abs/ ]
