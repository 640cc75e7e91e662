h

defaultgwU
default/gw/httpò∂Ã¥∑€Æ§Ø0.0.0.0 P(B*
default/web
/
default/web:80)
default/web:80¥±Ω∞°“Øí.
10.0.1.2ê?