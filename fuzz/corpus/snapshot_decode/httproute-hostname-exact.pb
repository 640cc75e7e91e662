Š

defaultgww
default/gw/httpßÙ…Øƒ–Ú´°0.0.0.0 P(2foo.example.comB;
default/webfoo.example.com
/
default/web:80*
default/web:80¿æ•Ãäõ‚û”
10.0.1.1?