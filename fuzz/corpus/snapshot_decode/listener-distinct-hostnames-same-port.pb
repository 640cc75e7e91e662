à

defaultgwv
default/gw/fooÑ âÓİÖš£‚0.0.0.0 P(2foo.example.comB;
default/foofoo.example.com
/
default/foo:80u
default/gw/barèÒ£İğÛÊM0.0.0.0 P(2bar.example.comB;
default/barbar.example.com
/
default/bar:80^
default/gw/any Øü˜¤ô¯¨›0.0.0.0 P(B4
default/fallback 
/
default/fallback:80*
default/bar:80°Ëãÿıßâğ
10.0.2.1?/
default/fallback:80ÅÖé±Ç×ö¸
10.0.3.1?*
default/foo:80¿æ•Ãäõ‚û”
10.0.1.1?