{% if first_name %}Hi {{ first_name }},{% else %}Hello,{% endif %}

Please confirm that this is your email address by visiting this link:

{{ verify_url }}

If you didn't create an account at {{ shop_name }}, you can ignore this email.
