À

defaultgw¬
default/gw/httpóÉ¹Õåî‡çî0.0.0.0 P(B€
default/sitewww.example.com"

/login
default/login:80
/api
default/api:80
/
default/web:80*
default/api:80°Ëãÿıßâğ
10.0.2.1?,
default/login:80¿æ•Ãäõ‚û”
10.0.1.1?*
default/web:80ÅÖé±Ç×ö¸
10.0.3.1?