{% if first_name %}Hi {{ first_name }},{% else %}Hello,{% endif %}

Good news: your order {{ number }} has been shipped{% if carrier %} with {{ carrier }}{% endif %}.
{% if tracking_number %}Tracking number: {{ tracking_number }}
{% endif %}
Your order: {{ order_url }}

The {{ shop_name }} team
