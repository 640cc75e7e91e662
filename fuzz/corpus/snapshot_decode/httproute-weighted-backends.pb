‹

defaultgwx
default/gw/http‚íÅÉÇÇäË¡0.0.0.0 P(BM
default/web>
/
default/v1:80F
default/v2:80
default/v0:80)
default/v0:80ÅÖé±Ç×ö¸
10.0.3.1?)
default/v1:80¿æ•Ãäõ‚û”
10.0.1.1?)
default/v2:80°Ëãÿıßâğ
10.0.2.1?