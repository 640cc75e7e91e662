Q

defaultfirst;
default/first/httpãğ¹ÙÁ‚²i0.0.0.0 ?(2a.example.comY

defaultsecondB
default/second/other-hostÍ§›ë–ßÕ¼_0.0.0.0 ?(2b.example.com

defaultthird