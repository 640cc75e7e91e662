`


appsgwP
apps/gw/httpœ¾´é“‚‹£ 0.0.0.0 P(B(
apps/api
/
backends/api:80+
backends/api:80ã¶ª„¼   ¨
10.0.5.1?