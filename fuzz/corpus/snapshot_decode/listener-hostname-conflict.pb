‰

defaultgwv
default/gw/bar‹†Î×Ä€Ó˜0.0.0.0 P(2bar.example.comB;
default/webbar.example.com
/
default/web:80*
default/web:80¿æ•Ãäõ‚û”
10.0.1.1?