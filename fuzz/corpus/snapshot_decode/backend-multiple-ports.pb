

defaultgwz
default/gw/http•¿‹ôÍ¨Ò0.0.0.0 P(BP
default/web$
/metrics
default/web:9090
/
default/web:808
default/web:80‚´¼áÚßÒ
10.0.1.1?
10.0.1.2?;
default/web:9090¼‘Øš²õè©
10.0.1.1ƒG
10.0.1.2ƒG