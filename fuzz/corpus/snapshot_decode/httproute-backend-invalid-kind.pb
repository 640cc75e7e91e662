}

defaultgwj
default/gw/http„Û©Ê´Ó¬÷0.0.0.0 P(B?
default/web
/config
/ok
default/web:80*
default/web:80¿æ•Ãäõ‚û”
10.0.1.1?