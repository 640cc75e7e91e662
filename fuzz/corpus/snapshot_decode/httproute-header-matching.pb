ú

defaultgwæ
default/gw/httpäø¦¬‰ó„­10.0.0.0 P(B»
default/webwww.example.com=
&/
x-envcanary
x-userbeta
default/beta:80<
/
x-envcanary
/canary
default/canary:80
/
default/stable:80+
default/beta:80¿æ•Ãäõ‚û”
10.0.1.1?-
default/canary:80°ŽËãÿýßâð
10.0.2.1?-
default/stable:80ÅÖé±Ç×ö¸
10.0.3.1?