<p style="margin:0 0 16px;">{% if first_name %}Hi {{ first_name | escape }},{% else %}Hello,{% endif %}</p>
<p style="margin:0 0 16px;">We received a request to reset the password for your {{ shop_name | escape }} account. Use the link below to choose a new one.</p>
<p style="margin:0 0 24px;"><a href="{{ reset_url | escape }}" style="display:inline-block;padding:12px 20px;background:#0f6b5c;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600;">Choose a new password</a></p>
<p style="margin:0 0 16px;">This link expires in {{ valid_minutes }} minutes and can be used only once.</p>
<p style="margin:0 0 16px;font-size:14px;color:#566173;">If the button doesn’t work, copy this address into your browser:<br><a href="{{ reset_url | escape }}" style="color:#0f6b5c;word-break:break-all;">{{ reset_url | escape }}</a></p>
<p style="margin:0;font-size:14px;color:#566173;">If you didn’t ask to reset your password, you can ignore this email. Your password will stay the same.</p>
