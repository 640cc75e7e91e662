V

defaultgwC
default/gw/http—¼Â„‘¼¡Øÿ0.0.0.0 P(B
default/empty
/