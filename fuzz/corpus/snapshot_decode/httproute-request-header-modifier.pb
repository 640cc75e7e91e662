§

defaultgw“
default/gw/httpåâÈâÓÑÛón0.0.0.0 P(Bi
default/webZ
/=
;

x-envprod
x-traceporticox-debugauthorization
default/web:80*
default/web:80¿æ•Ãäõ‚û”
10.0.1.1?