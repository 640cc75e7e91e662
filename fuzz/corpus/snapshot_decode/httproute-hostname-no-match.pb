M

defaultgw:
default/gw/http¼‰ôØ’Íé›õ0.0.0.0 P(2foo.example.com