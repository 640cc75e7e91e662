N


appsgw>
apps/gw/http€ιγΏ›ΧΈ0.0.0.0 P(B
apps/api
/