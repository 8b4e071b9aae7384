{{ body_text }}

--
{{ shop_name }}
You received this email because of your account at {{ shop_name }}.
