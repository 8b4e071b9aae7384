<p style="margin:0 0 16px;">{% if first_name %}Hi {{ first_name | escape }},{% else %}Hello,{% endif %}</p>
<p style="margin:0 0 16px;">Someone signed in to your {{ shop_name | escape }} account asked to sign in with <strong>{{ new_email | escape }}</strong> from now on. We sent a confirmation link there; this address stays the account’s until that link is followed.</p>
<p style="margin:0;">If that was you, there is nothing more to do. If it wasn’t, <a href="{{ forgot_url | escape }}" style="color:#0f6b5c;">change your password now</a>: that ends every session and voids the link.</p>
