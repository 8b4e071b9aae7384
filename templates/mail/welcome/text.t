{% if first_name %}Hi {{ first_name }},{% else %}Hello,{% endif %}

Thanks for registering with {{ shop_name }}. Your account is ready.

From your account page you can keep your details and delivery address up to date:
{{ base_url }}/account

See you soon,
The {{ shop_name }} team
