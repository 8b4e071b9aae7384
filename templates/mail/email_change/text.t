{% if first_name %}Hi {{ first_name }},{% else %}Hello,{% endif %}

You asked to sign in to your {{ shop_name }} account with this address ({{ new_email }}) from now on. Confirm it with this link:

{{ confirm_url }}

The link expires in {{ valid_hours }} hours and can be used only once. Nothing changes until you follow it; afterwards, sign in with this address (every device is signed out).

If you didn't ask for this, ignore this email: the account keeps its address.
