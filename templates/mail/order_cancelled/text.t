{% if first_name %}Hi {{ first_name }},{% else %}Hello,{% endif %}

Your order {{ number }} has been cancelled{% if paid %}. The amount you paid will be refunded to your original payment method{% endif %}.

{% for l in lines %}  {{ l.quantity }} x {{ l.name }}  {{ l.total }}
{% endfor %}  Total: {{ total }}

Your order: {{ order_url }}

The {{ shop_name }} team
