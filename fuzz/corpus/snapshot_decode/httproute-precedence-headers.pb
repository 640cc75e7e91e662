Ï

defaultgw»
default/gw/http˜™¾ô®³²
0.0.0.0 P(BC
default/plainshop.example.com 
/api
default/plain:80B\
default/one-headershop.example.com4
/api
x-tenanta
default/one-header:80Bn
default/two-headersshop.example.comE
'/api
x-tenanta
x-tiergold
default/two-headers:801
default/one-header:80ÅÖé±Ç×ö¸
10.0.3.1?,
default/plain:80¿æ•Ãäõ‚û”
10.0.1.1?2
default/two-headers:80¦ØÒŸÂ°æ¥å
10.0.4.1?