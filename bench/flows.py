#!/usr/bin/env python3
"""Shopper-flow and contention benchmarks against a running Emporium (bench/run starts it).

    flows.py BASE_URL PM_EMAIL PASSWORD                 # 1, 2 and 3
    flows.py BASE_URL PM_EMAIL PASSWORD shoppers N SECS  # 2 only, N shoppers for SECS seconds

1. Shopper flow, logging in each time: N concurrent shoppers repeat login -> add 2 items ->
   checkout through the JSON API for a fixed time; prints completed flows per second and the
   p50/p99 of one flow.
2. Shopper flow, session reused: each shopper logs in once, then repeats add 2 items ->
   checkout with the same token, as a real shopper's visit does.
3. Contention: 200 buyers, each with one unit in the cart, check out at the same moment for
   a product with 50 units; exactly 50 orders must succeed and the product must end with 0
   available. Any other outcome fails the run (exit 1).

Standard library only. Prints Markdown table rows on stdout, progress on stderr.
"""
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

BASE, PM_EMAIL, PASSWORD = sys.argv[1], sys.argv[2], sys.argv[3]
LABEL = os.environ.get("DB_LABEL", "?")
SHOPPERS = int(os.environ.get("BENCH_SHOPPERS", "16"))
DURATION = float(os.environ.get("BENCH_FLOW_DURATION", "20"))
BUYERS = int(os.environ.get("BENCH_BUYERS", "200"))
UNITS = int(os.environ.get("BENCH_UNITS", "50"))
ADDRESS = {"line1": "1 Bench Street", "city": "Kiel", "postal_code": "24103", "country": "DE"}


def call(method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def login(email):
    status, body = call("POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD})
    assert status == 200, (status, body)
    return body["access"]


def register(email):
    status, body = call("POST", "/api/v1/auth/register",
                        {"email": email, "password": PASSWORD, "first_name": "Bench", "last_name": "Buyer"})
    assert status in (201, 422), (status, body)


def product(pm, sku, stock):
    status, body = call("POST", "/api/v1/products",
                        {"sku": sku, "name": "Bench " + sku, "price_cents": 1500, "stock": stock}, pm)
    assert status == 201, (status, body)
    return body["id"]


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else 0.0


def shopper_flow(pm, shoppers=SHOPPERS, duration=DURATION, reuse=False):
    stamp = f"{int(time.time())}-{'r' if reuse else 'l'}"
    items = [product(pm, f"FLOW-{i}-{stamp}", 10_000_000) for i in range(2)]
    emails = [f"flow{i}-{stamp}@bench.example" for i in range(shoppers)]
    for e in emails:
        register(e)
    durations, errors = [], []
    lock = threading.Lock()
    stop = time.monotonic() + duration

    def shopper(email):
        token = login(email) if reuse else None
        while time.monotonic() < stop:
            t0 = time.monotonic()
            if not reuse:
                token = login(email)
            ok = all(call("POST", "/api/v1/cart/items", {"product_id": p, "quantity": 1}, token)[0] == 201 for p in items)
            status, _ = call("POST", "/api/v1/checkout", {"shipping_address": ADDRESS}, token)
            with lock:
                if ok and status == 201:
                    durations.append(time.monotonic() - t0)
                else:
                    errors.append(status)

    started = time.monotonic()
    threads = [threading.Thread(target=shopper, args=(e,)) for e in emails]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    if errors:
        print(f"error: {len(errors)} flows failed: {errors[:5]}", file=sys.stderr)
        sys.exit(1)
    what = "session reused: add 2, checkout" if reuse else "login, add 2, checkout"
    print(f"| {LABEL} | shopper flow ({what}) | {shoppers} | {len(durations) / elapsed:.1f} flows/s "
          f"| {percentile(durations, 0.5) * 1000:.0f} ms | {percentile(durations, 0.99) * 1000:.0f} ms |")


def contention(pm):
    pid = product(pm, f"RACE-{int(time.time())}", UNITS)
    stamp = int(time.time())
    tokens = []
    for i in range(BUYERS):
        email = f"race{i}-{stamp}@bench.example"
        register(email)
        token = login(email)
        status, body = call("POST", "/api/v1/cart/items", {"product_id": pid, "quantity": 1}, token)
        assert status == 201, (status, body)
        tokens.append(token)
    print(f"{BUYERS} buyers ready", file=sys.stderr)
    barrier = threading.Barrier(BUYERS)
    results = [None] * BUYERS

    def buyer(i):
        barrier.wait()
        results[i] = call("POST", "/api/v1/checkout", {"shipping_address": ADDRESS}, tokens[i])[0]

    t0 = time.monotonic()
    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(BUYERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    won = results.count(201)
    lost = results.count(409)
    _, p = call("GET", f"/api/v1/products/{pid}")
    verdict = "exact" if (won == UNITS and lost == BUYERS - UNITS and p["available"] == 0) else "WRONG"
    print(f"| {LABEL} | contention ({BUYERS} buyers, {UNITS} units) | {BUYERS} | {won} orders, {lost} refused, "
          f"available {p['available']} ({verdict}) | {elapsed * 1000:.0f} ms for all | |")
    if verdict != "exact":
        sys.exit(1)


if __name__ == "__main__":
    pm = login(PM_EMAIL)
    if sys.argv[4:5] == ["shoppers"]:
        shopper_flow(pm, int(sys.argv[5]), float(sys.argv[6]), reuse=True)
    else:
        shopper_flow(pm)
        shopper_flow(pm, reuse=True)
        contention(pm)
