<p style="margin:0 0 16px;">{% if first_name %}Hi {{ first_name | escape }},{% else %}Hello,{% endif %}</p>
<p style="margin:0 0 16px;">We have received your payment of <strong>{{ total | escape }}</strong> for order <strong>{{ number }}</strong>. We are getting it ready to ship, and your invoice is on the order page.</p>
<p style="margin:0 0 24px;"><a href="{{ order_url | escape }}" style="display:inline-block;padding:12px 20px;background:#0f6b5c;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600;">View your order</a></p>
<p style="margin:0;">The {{ shop_name | escape }} team</p>
