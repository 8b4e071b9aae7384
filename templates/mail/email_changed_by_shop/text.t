{% if first_name %}Hi {{ first_name }},{% else %}Hello,{% endif %}

The {{ shop_name }} team changed the e-mail address of your account to {{ new_email }}, as asked. From now on you sign in with that address; every session was signed out, and a link to choose your password was sent there.

If you did not ask for this, reply to this mail or contact the shop: this address no longer opens the account.
