l

defaultgw-aW
default/gw-a/http¦Á˜¤Ö‹·ªÅ0.0.0.0 P(B*
default/web
/
default/web:80m

defaultgw-bX
default/gw-b/httpÓÅãšö²¾·¸0.0.0.0 ?(B*
default/web
/
default/web:80*
default/web:80¿æ•Ãäõ‚û”
10.0.1.1?