<p style="margin:0 0 16px;">{% if first_name %}Hi {{ first_name | escape }},{% else %}Hello,{% endif %}</p>
<p style="margin:0 0 16px;">You asked to sign in to your {{ shop_name | escape }} account with this address ({{ new_email | escape }}) from now on. Confirm it with the button below.</p>
<p style="margin:0 0 24px;"><a href="{{ confirm_url | escape }}" style="display:inline-block;padding:12px 20px;background:#0f6b5c;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600;">Confirm my new address</a></p>
<p style="margin:0 0 16px;">The link expires in {{ valid_hours }} hours and can be used only once. Nothing changes until you follow it; afterwards, sign in with this address (every device is signed out).</p>
<p style="margin:0 0 16px;font-size:14px;color:#566173;">If the button doesn’t work, copy this address into your browser:<br><a href="{{ confirm_url | escape }}" style="color:#0f6b5c;word-break:break-all;">{{ confirm_url | escape }}</a></p>
<p style="margin:0;font-size:14px;color:#566173;">If you didn’t ask for this, ignore this email: the account keeps its address.</p>
