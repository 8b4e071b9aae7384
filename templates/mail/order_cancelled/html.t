<p style="margin:0 0 16px;">{% if first_name %}Hi {{ first_name | escape }},{% else %}Hello,{% endif %}</p>
<p style="margin:0 0 16px;">Your order <strong>{{ number }}</strong> has been cancelled{% if paid %}. The amount you paid will be refunded to your original payment method{% endif %}.</p>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="margin:0 0 16px;border-collapse:collapse;">
{% for l in lines %}<tr><td style="padding:6px 0;border-bottom:1px solid #d9dee5;">{{ l.quantity }} × {{ l.name | escape }}</td><td align="right" style="padding:6px 0;border-bottom:1px solid #d9dee5;">{{ l.total | escape }}</td></tr>
{% endfor %}<tr><td style="padding:8px 0;font-weight:700;">Total</td><td align="right" style="padding:8px 0;font-weight:700;">{{ total | escape }}</td></tr>
</table>
<p style="margin:0 0 24px;"><a href="{{ order_url | escape }}" style="display:inline-block;padding:12px 20px;background:#0f6b5c;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600;">View your order</a></p>
<p style="margin:0;">The {{ shop_name | escape }} team</p>
