"""Cold start to the first 200: starts the server and asks for the home page until it answers.

    python3 bench/coldstart.py <emporium-cli> <base url> <log file>

Prints "<milliseconds> <server pid>"; the server keeps running for the scenarios after it.
The database must be migrated already (that is a deploy step, not part of a start).
"""
import subprocess
import sys
import time
import urllib.error
import urllib.request

binary, base, log = sys.argv[1], sys.argv[2], sys.argv[3]
started = time.monotonic()
with open(log, "w") as out:
    server = subprocess.Popen([binary, "start"], stdout=out, stderr=subprocess.STDOUT)
while True:
    try:
        with urllib.request.urlopen(base + "/", timeout=2) as res:
            if res.status == 200:
                break
    except (urllib.error.URLError, ConnectionError, OSError):
        pass
    if server.poll() is not None:
        sys.exit(f"the server stopped: see {log}")
    if time.monotonic() - started > 60:
        sys.exit("no 200 within 60 s")
    time.sleep(0.002)
print(f"{(time.monotonic() - started) * 1000:.0f} {server.pid}")
