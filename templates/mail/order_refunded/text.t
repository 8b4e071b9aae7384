{% if first_name %}Hi {{ first_name }},{% else %}Hello,{% endif %}

We have refunded {{ total }} for order {{ number }} to your original payment method. Depending on your bank it can take a few days to show.

Your order: {{ order_url }}

The {{ shop_name }} team
