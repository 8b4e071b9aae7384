{% if first_name %}Hi {{ first_name }},{% else %}Hello,{% endif %}

We did not receive the payment for your order {{ number }} in time, so it has expired and the items were released. Nothing was charged.

{% for l in lines %}  {{ l.quantity }} x {{ l.name }}  {{ l.total }}
{% endfor %}  Total: {{ total }}

Shop again: {{ base_url }}/

The {{ shop_name }} team
