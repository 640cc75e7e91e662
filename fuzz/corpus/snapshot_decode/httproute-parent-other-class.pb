h

defaultgwU
default/gw/http˜¶Ì´·Û®¤¯0.0.0.0 P(B*
default/web
/
default/web:80*
default/web:80¿æ•Ãäõ‚û”
10.0.1.1?