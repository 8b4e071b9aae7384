<p style="margin:0 0 16px;">{% if first_name %}Hi {{ first_name | escape }},{% else %}Hello,{% endif %}</p>
<p style="margin:0 0 16px;">Please confirm that this is your email address by visiting the link below.</p>
<p style="margin:0 0 24px;"><a href="{{ verify_url | escape }}" style="display:inline-block;padding:12px 20px;background:#0f6b5c;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600;">Confirm my email address</a></p>
<p style="margin:0 0 16px;font-size:14px;color:#566173;">If the button doesn’t work, copy this address into your browser:<br><a href="{{ verify_url | escape }}" style="color:#0f6b5c;word-break:break-all;">{{ verify_url | escape }}</a></p>
<p style="margin:0;font-size:14px;color:#566173;">If you didn’t create an account at {{ shop_name | escape }}, you can ignore this email.</p>
