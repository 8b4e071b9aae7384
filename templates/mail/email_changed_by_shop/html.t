<p style="margin:0 0 16px;">{% if first_name %}Hi {{ first_name | escape }},{% else %}Hello,{% endif %}</p>
<p style="margin:0 0 16px;">The {{ shop_name | escape }} team changed the e-mail address of your account to <strong>{{ new_email | escape }}</strong>, as asked. From now on you sign in with that address; every session was signed out, and a link to choose your password was sent there.</p>
<p style="margin:0;">If you did not ask for this, reply to this mail or contact the shop: this address no longer opens the account.</p>
