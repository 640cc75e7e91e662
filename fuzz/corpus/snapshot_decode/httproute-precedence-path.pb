ˆ

defaultgwô
default/gw/httpÍçøæ¡Ãæœw0.0.0.0 P(B]
default/baseshop.example.com
/
default/web:80
/api
default/api:80Bk
default/specificshop.example.com 
/api/v1
default/v1:80#
/api/v1
default/exact:80*
default/api:80°Ëãÿıßâğ
10.0.2.1?,
default/exact:80¦ØÒŸÂ°æ¥å
10.0.4.1?)
default/v1:80ÅÖé±Ç×ö¸
10.0.3.1?*
default/web:80¿æ•Ãäõ‚û”
10.0.1.1?