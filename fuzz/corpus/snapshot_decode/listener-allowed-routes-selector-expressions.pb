±

infragwŸ
infra/gw/httpåÚ¾­®ÉòÚ0.0.0.0 P(B6
prod/appprod.example.com
/
prod/app:80B?
staging/appstaging.example.com
/
staging/app:80'
prod/app:80¿æ•Ãäõ‚û”
10.0.1.1?*
staging/app:80°Ëãÿıßâğ
10.0.2.1?