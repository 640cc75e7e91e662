|

defaultgwi
default/gw/httpó­îÖâÏÛûê0.0.0.0 P(B>
default/web
/metrics
/
default/web:80*
default/web:80¿æ•Ãäõ‚û”
10.0.1.1?