#!/usr/bin/env python3
"""Signs in through the login form like a browser and prints the Cookie header it ends with.

    session.py BASE_URL EMAIL PASSWORD

For the admin pages in bench/run (they read the session cookie, not a bearer token).
Standard library only.
"""
import http.cookiejar
import re
import sys
import urllib.parse
import urllib.request

base, email, password = sys.argv[1:4]
jar = http.cookiejar.CookieJar()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
page = opener.open(base + "/login").read().decode()
token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": password}).encode()
try:
    opener.open(base + "/login", data=form)
except urllib.error.HTTPError as e:
    if e.code != 303:
        raise
print("; ".join(f"{c.name}={c.value}" for c in jar))
