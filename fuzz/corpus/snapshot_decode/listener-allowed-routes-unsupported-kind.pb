

defaultgw