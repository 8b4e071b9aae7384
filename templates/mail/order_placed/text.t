{% if first_name %}Hi {{ first_name }},{% else %}Hello,{% endif %}

Thank you for your order {{ number }}. We have set the items aside for you{% if expires_at %} until {{ expires_at }} (UTC){% endif %}; once your payment arrives we will get it ready to ship.

{% for l in lines %}  {{ l.quantity }} x {{ l.name }}  {{ l.total }}
{% endfor %}  Total: {{ total }}

Your order: {{ order_url }}

The {{ shop_name }} team
