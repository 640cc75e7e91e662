u

infragwd
infra/gw/httpÛÌƒ§„¤ú¿70.0.0.0 P(B<

team-a/appteam-a.example.com
/
team-a/app:80)
team-a/app:80¿æ•Ãäõ‚û”
10.0.1.1?