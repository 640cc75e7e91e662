í

infragwÛ
infra/gw/httpÇ¸çÕÇ¥ì€Ï0.0.0.0 P(B5
apps/appapp.example.com
/
apps/app:80B=
infra/locallocal.example.com
/
infra/local:80B<
team-b/teamteam.example.com
/
team-b/team:80'
apps/app:80°ŽËãÿýßâð
10.0.2.1?*
infra/local:80¿æ•Ãäõ‚û”
10.0.1.1?*
team-b/team:80ÅÖé±Ç×ö¸
10.0.3.1?