{% if first_name %}Hi {{ first_name }},{% else %}Hello,{% endif %}

Someone signed in to your {{ shop_name }} account asked to sign in with {{ new_email }} from now on. We sent a confirmation link there; this address stays the account's until that link is followed.

If that was you, there is nothing more to do. If it wasn't, change your password now ({{ forgot_url }}): that ends every session and voids the link.
