<p style="margin:0 0 16px;">{% if first_name %}Hi {{ first_name | escape }},{% else %}Hello,{% endif %}</p>
<p style="margin:0 0 16px;">We have refunded <strong>{{ refunded | default(value=total) | escape }}</strong> for order <strong>{{ number }}</strong> to your original payment method. Depending on your bank it can take a few days to show.</p>
{%- if credit_note %}
<p style="margin:0 0 16px;">Your credit note <a href="{{ credit_note_url | escape }}">{{ credit_note | escape }}</a> lists what was refunded.</p>
{%- endif %}
<p style="margin:0 0 24px;"><a href="{{ order_url | escape }}" style="display:inline-block;padding:12px 20px;background:#0f6b5c;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600;">View your order</a></p>
<p style="margin:0;">The {{ shop_name | escape }} team</p>
