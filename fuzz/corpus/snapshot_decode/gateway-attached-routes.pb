Ô

defaultgw◊
default/gw/http˚¨±˚‹éÙC0.0.0.0 P(B-
default/all-ns
/
default/web:80BD
other/other-nsother.example.com
/
other/other-web:80B9
default/broken-backendbroken.example.com
/˛
default/gw/https≤ä˜öæ£éƒ0.0.0.0 ª(:€
default/example-tlsò	-----BEGIN CERTIFICATE-----
MIIDNjCCAh6gAwIBAgIUdHRB0Ok9nUWJrZ1XMb4cfcXZkvswDQYJKoZIhvcNAQEL
BQAwFjEUMBIGA1UEAwwLZXhhbXBsZS5jb20wIBcNMjYxMTIxMDkyMDM1WhgPMjEy
NjEwMjgwOTIwMzVaMBYxFDASBgNVBAMMC2V4YW1wbGUuY29tMIIBIjANBgkqhkiG
9w0BAQEFAAOCAQ8AMIIBCgKCAQEA4siGTIcJm8zstHUMd/upqyodVQvzb7jUziWr
5d3AxQ31i8a/vwsuOVxGmLq59DBtgs3YP6CPJiJa0eVLV0MwLwh4aEXWZhKPDW7n
Ap/jSD/KO6kPMWvlW1nQJ9I/blo/TJ6/rM/AtubOobeVuPlsYMdy+LtlnAWwtAmb
+h3DSjqcZjm9wyTbeRUpVmKDJa+lA0e/zkYEMbrrwV30u779IDeV1tcksJK+Gk/2
F0zInTAIGZ8vnRZwLIkd2biIfACDAv2QxnN40XvQk4Sllygobtyjx0FEDQ3/aTTL
qIdbVbQLQP6kB3BPZELC9gno0jpcLlXsvdBzb6pyIFE+Gbt/CwIDAQABo3oweDAd
BgNVHQ4EFgQUXlceC3MmA8wOFLO9rVoB0jUC5DwwHwYDVR0jBBgwFoAUXlceC3Mm
A8wOFLO9rVoB0jUC5DwwDwYDVR0TAQH/BAUwAwEB/zAlBgNVHREEHjAcggtleGFt
cGxlLmNvbYINKi5leGFtcGxlLmNvbTANBgkqhkiG9w0BAQsFAAOCAQEAJy0Rsg9u
SCA+lGJfboFl+6YK6kJLqaSfQiCjo1GhcatvGP0GEh/hMj7e+loQQmbybBe5WLvf
AB2CHK5YHT77uAlVFfSYl3GI7PAUcll4Kj0GLW+yFJqb+VoOnkB3WFHFd0XFWghP
NwbrEpf6FOj4vobsomee5Lj5RV9SNFikX3ZksGXjkE7hMrLGFh+OU+H7int3RJ3P
7rLfKPA2LhY496k4nMMkcZ5JzeMq/hEucRqI9c/A8HyYVpRrjSiCelPy4aS3Biy/
FOBDdLPmH+NLCPIqDnqBafSX9NZdlEFmAUpaakmY4uXysiCfdN3uSaOmAhX8Fqb/
6Hj9LVk4BbuJ0A==
-----END CERTIFICATE-----
®-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDiyIZMhwmbzOy0
dQx3+6mrKh1VC/NvuNTOJavl3cDFDfWLxr+/Cy45XEaYurn0MG2Czdg/oI8mIlrR
5UtXQzAvCHhoRdZmEo8NbucCn+NIP8o7qQ8xa+VbWdAn0j9uWj9Mnr+sz8C25s6h
t5W4+Wxgx3L4u2WcBbC0CZv6HcNKOpxmOb3DJNt5FSlWYoMlr6UDR7/ORgQxuuvB
XfS7vv0gN5XW1ySwkr4aT/YXTMidMAgZny+dFnAsiR3ZuIh8AIMC/ZDGc3jRe9CT
hKWXKChu3KPHQUQNDf9pNMuoh1tVtAtA/qQHcE9kQsL2CejSOlwuVey90HNvqnIg
UT4Zu38LAgMBAAECggEAUHfCX2kS2btuyeE2WWRsoZVB7ylcaWn16GephNiYS9NW
KxCMfOcksamySwMGdESyttT/RCReZrON8iggAYiPkkC5KJaPKoyvQZ72TRIafUpV
IbIs9+ZG7ZECsP6DD07qYu95J4JX6Q4gh3UypP2rnPNoMiWcOi4yss8uDyN8ZduW
8zo2ENbLYTxS2Pl4ujlTYFuxBTdgwbuX4tvdy57CVo+IVa1zI3x+GF/UjIqF70EF
lPnEKHU2hcO3QscQ08M676qfBoWnNqtD9KloG/6RiVZkeKe7GZlhLQuSCO725hVL
zrUorDLa16Fpnt2sscr978FS/Ynhem7yIRdVBxmVcQKBgQD8RbhzP+Py8xXZAzja
NCKlnzl+7nfa3jI0/FSr+mRsH2JfKsUTDwXfKiHlAKmbOkmPQgZWb7UxHyOgSAAL
Q8dDBDivvonDdoEwpStNs8ENr/TlxktnJBeUUPKJUCgnRaqDF3jv8Y+9Me9wPLbZ
0Fxwd4U1Z8ckzaM2LUx1OIFxhwKBgQDmImLCoTtyC7bUnXJuiK4HUhl3n0+gO1Us
tq7115uKiZu8ym91g9/cOHFjAyPSUtEbC/Zd/FTRSILqukYRQfRv2hIFgG4xIqyn
MpxmmkvlT0xX38FlvEiJMDS01O/n2QjqpbxQcLo/sNvGcivDB67ZkDRQ7BPXqvDW
AcElG3T3XQKBgA0iRBwb824uobCOrmMN28/rnj6xg6PtdYe0q2PYwWmvqJtzypbX
bWLU+rbFdg8S1cmTkmjln/VSvbQWi4oKmVEv4xOjQ+DdRpSVxM9i0GY6BvH/hOV1
x5R9MmNbvPtucRYqHq2/UdBzzRd20b49TtK8Jj9Fi+SqoBit+xEPRA35AoGBALQQ
R5HdsbOEMuOc5cJSs0gLFt4gCp9mjThVIAQ/VPZKwU4wXpFmQ6v9hcpg1JBmODKf
Y38aRgsSX0zlvpkWL/mseNlRKebMKKcR1In7RFMBfsxqyNmfPmoJC9RJoASaLn3a
e8O80B2xdeSJxG/u/QJB8I04ijX/DD2GVeeA2j4JAoGAWytV8hPwmMoFQyNyEK72
O5A1aFpfX7F+Vn6NXYWpV+ngbMOSV887xbmuEklil+938/Y5pTqudO499h5hpO7h
bBxZG21NVKt/1uRwS/nOkn+jZg13Q56w3qjmQggQdwn0cPxEPgR70LaLwlLCfqex
6Cx+NTbg9UU5JQ7zDATZUio=
-----END PRIVATE KEY-----
B-
default/all-ns
/
default/web:80BE
default/https-onlysecure.example.com
/
default/web:80Ä
default/gw/adminüŸ≥—€∑à”¸0.0.0.0 ê?(2admin.example.comB@
default/all-nsadmin.example.com
/
default/web:80*
default/web:80øÊï√‰ıÇ˚î
10.0.1.1ê?.
other/other-web:80∞éÀ„ˇ˝ﬂ‚
10.0.2.1ê?