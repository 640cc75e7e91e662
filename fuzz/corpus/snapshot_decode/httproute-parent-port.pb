˜

defaultgw)
default/gw/httpàÇ®Õğ‡¿É0.0.0.0 P(Z
default/gw/adminæèÔ¦®°š¤@0.0.0.0 ?(B.
default/by-port
/
default/web:80*
default/web:80¿æ•Ãäõ‚û”
10.0.1.1?