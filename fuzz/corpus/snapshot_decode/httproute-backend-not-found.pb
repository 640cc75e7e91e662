£

defaultgw
default/gw/httpşÉå—ÕÉê¹‰0.0.0.0 P(Bd
default/web
/missing$

/mixed
default/web:80
/
default/web:80*
default/web:80¿æ•Ãäõ‚û”
10.0.1.1?