j

defaultgwW
default/gw/http¶º²ßÁñ²Ñå	127.0.0.2 P(B*
default/web
/
default/web:80*
default/web:80¿æ•Ãäõ‚û”
10.0.1.1?