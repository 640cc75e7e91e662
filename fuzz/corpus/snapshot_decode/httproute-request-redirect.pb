¦

defaultgw’
default/gw/httpÆ®Ãôï‚•ûÂ0.0.0.0 P(Bg
default/redirectswww.example.com
/old

https ­'

/movednew.example.comûA ®