<

defaultgw)
default/gw/httpàŽÇ®Õð‡¿É0.0.0.0 P(