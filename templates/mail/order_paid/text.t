{% if first_name %}Hi {{ first_name }},{% else %}Hello,{% endif %}

We have received your payment of {{ total }} for order {{ number }}. We are getting it ready to ship, and your invoice is on the order page:
{{ order_url }}

The {{ shop_name }} team
