º

defaultgwm
default/gw/httpºıØ·ÏÑİü‡0.0.0.0 P(BB
default/everywherewww.example.com
/
default/web:80·
default/gw/adminê¶—¸Ö€Á°é0.0.0.0 ?(BF
default/admin-onlyadmin.example.com
/
default/admin:80BB
default/everywherewww.example.com
/
default/web:80,
default/admin:80¿æ•Ãäõ‚û”
10.0.1.1?*
default/web:80°Ëãÿıßâğ
10.0.2.1?