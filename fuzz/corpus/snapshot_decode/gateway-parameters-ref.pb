A

defaulttuned+
default/tuned/httpà¿Òþà©×¿I0.0.0.0 P(