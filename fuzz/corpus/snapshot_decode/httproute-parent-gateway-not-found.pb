}

defaultgwj
default/gw/http³ˆ´´½ÏŸ›0.0.0.0 P(B?
default/mixedmixed.example.com
/
default/web:80*
default/web:80¿æ•Ãäõ‚û”
10.0.1.1?