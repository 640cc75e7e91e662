w

infragwf
infra/gw/http‹ΨΫ¬΅ΥπΨΣ0.0.0.0 P(B=
infra/locallocal.example.com
/
infra/local:80*
infra/local:80Ώζ•Γδυ‚ϋ”
10.0.1.1?