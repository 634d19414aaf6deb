[ http://example.org/x?a=b&c=d mirror://gnu/hello x:y a+b.c-d:e!~*'%$,@=&/? https://a.b/c#comment
]
