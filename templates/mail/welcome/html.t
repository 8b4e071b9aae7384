<p style="margin:0 0 16px;">{% if first_name %}Hi {{ first_name | escape }},{% else %}Hello,{% endif %}</p>
<p style="margin:0 0 16px;">Thanks for registering with {{ shop_name | escape }}. Your account is ready.</p>
<p style="margin:0 0 16px;">From your account page you can keep your details and delivery address up to date.</p>
<p style="margin:0 0 24px;"><a href="{{ base_url | escape }}/account" style="display:inline-block;padding:12px 20px;background:#0f6b5c;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600;">Go to your account</a></p>
<p style="margin:0;">See you soon,<br>The {{ shop_name | escape }} team</p>
