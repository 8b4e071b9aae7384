{% if first_name %}Hi {{ first_name }},{% else %}Hello,{% endif %}

We received a request to reset the password for your {{ shop_name }} account. Use this link to choose a new one:

{{ reset_url }}

This link expires in {{ valid_minutes }} minutes and can be used only once.

If you didn't ask to reset your password, you can ignore this email. Your password will stay the same.
