h

defaultgwU
default/gw/http˜¶Ì´·Û®¤¯0.0.0.0 P(B*
default/web
/
default/web:808
default/web:80‚´¼áÚßÒ
10.0.1.1?
10.0.1.2?