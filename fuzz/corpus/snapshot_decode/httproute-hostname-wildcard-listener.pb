™

defaultgw…
default/gw/http‰µ›¢Ì†ÎÑ\0.0.0.0 P(2*.example.comBL
default/webapi.example.coma.b.example.com
/
default/web:80*
default/web:80¿æ•Ãäõ‚û”
10.0.1.1?