^

infragwM
infra/gw/httpïŸŒ®¼ïğÌ0.0.0.0 P(B$
apps/web
/
apps/web:80'
apps/web:80¿æ•Ãäõ‚û”
10.0.1.1?