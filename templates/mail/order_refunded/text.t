{% if first_name %}Hi {{ first_name }},{% else %}Hello,{% endif %}

We have refunded {{ refunded | default(value=total) }} for order {{ number }} to your original payment method. Depending on your bank it can take a few days to show.
{% if credit_note %}
Your credit note {{ credit_note }}: {{ credit_note_url }}
{% endif %}
Your order: {{ order_url }}

The {{ shop_name }} team
