h

defaultgwU
default/gw/http˜¶Ì´·Û®¤¯0.0.0.0 P(B*
default/web
/
default/web:80H
default/web:80õé£ÆúÜ¡³
10.0.1.1?
10.0.1.2?
10.0.2.1?