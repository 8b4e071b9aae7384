<p style="margin:0 0 16px;">{% if first_name %}Hi {{ first_name | escape }},{% else %}Hello,{% endif %}</p>
<p style="margin:0 0 16px;">Good news: your order <strong>{{ number }}</strong> has been shipped{% if carrier %} with {{ carrier | escape }}{% endif %}.</p>
{% if tracking_number %}<p style="margin:0 0 16px;">Tracking number: <strong>{{ tracking_number | escape }}</strong></p>{% endif %}
<p style="margin:0 0 24px;"><a href="{{ order_url | escape }}" style="display:inline-block;padding:12px 20px;background:#0f6b5c;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600;">View your order</a></p>
<p style="margin:0;">The {{ shop_name | escape }} team</p>
