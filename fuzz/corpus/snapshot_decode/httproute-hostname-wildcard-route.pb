Æ

defaultgwy
default/gw/exact£ï«£ëÛ£ÿ0.0.0.0 P(2api.example.comB<
default/wideapi.example.com
/
default/web:80·
default/gw/wildÒ—ÀİôÀŞëã0.0.0.0 ?(2*.example.comB:
default/wide*.example.com
/
default/web:80B@
default/deeper*.foo.example.com
/
default/foo:80*
default/foo:80°Ëãÿıßâğ
10.0.2.1?*
default/web:80¿æ•Ãäõ‚û”
10.0.1.1?