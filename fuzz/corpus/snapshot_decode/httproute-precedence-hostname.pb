Æ

defaultgw²
default/gw/httpøòµÛÍ¿¢Ì0.0.0.0 P(BF
default/wild*.example.com'
/a/long/path
default/wild:80B?
default/exactfoo.example.com
/
default/exact:80,
default/exact:80°Ëãÿıßâğ
10.0.2.1?+
default/wild:80¿æ•Ãäõ‚û”
10.0.1.1?