Å

defaultgw±
default/gw/httpùÀÓ±«Šõ0.0.0.0 P(B›
default/oldshop.example.com$
	/cart
default/cart-old:80)
/cart/items
default/cart-v1:80)
/cart/items
default/cart-v2:80BQ
default/alphashop.example.com.
	/checkout
default/checkout-alpha:80BO
default/betashop.example.com-
	/checkout
default/checkout-beta:80BE
default/newshop.example.com$
	/cart
default/cart-new:80/
default/cart-new:80¿æ•Ãäõ‚û”
10.0.1.1?/
default/cart-old:80°Ëãÿıßâğ
10.0.2.1?.
default/cart-v1:80ÅÖé±Ç×ö¸
10.0.3.1?.
default/cart-v2:80¦ØÒŸÂ°æ¥å
10.0.4.1?5
default/checkout-alpha:80ä¦š»ÁÿÚâ
10.0.6.1?4
default/checkout-beta:80ã¶ª„¼   ¨
10.0.5.1?