"""Load test of the payment-request page (``make load``).

Against the load database served on 127.0.0.1 (``make load`` starts it
with ``--workers=2``), 20 concurrent customers open their payment-request
page and, in the same run, Odoo's own invoice portal page of the same
invoice (both by access token, without logging in). Prints every request's
latency of each page as JSON. Bounded: a fixed number of requests,
loopback only.
"""

import argparse
import json
import random
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry

CUSTOMERS = 20
REQUESTS_PER_CUSTOMER = 15


def page_pairs(config, database):
    """(payment-request url, invoice portal url) of each open enrollment of
    an invoice, giving both their access tokens."""
    odoo.tools.config.parse_config(["-c", config, "-d", database])
    registry = Registry(database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        enrollments = env["collection.enrollment"].search(
            [("state", "in", ("running", "paused")), ("move_id", "!=", False)]
        )
        pairs = [
            (enrollment.get_portal_url(), enrollment.move_id.get_portal_url()) for enrollment in enrollments
        ]
        cr.commit()
    if not pairs:
        raise SystemExit(f"no open enrollment of an invoice in {database}: load its demo data")
    return pairs


def fetch(url):
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: HTTP {response.status}")
    return time.perf_counter() - started


def customer(base, pair, seed):
    """One customer: both pages, in a random order each round."""
    rng = random.Random(seed)
    timings = {"payment_request": [], "odoo_invoice": []}
    for _ in range(REQUESTS_PER_CUSTOMER):
        order = [("payment_request", pair[0]), ("odoo_invoice", pair[1])]
        rng.shuffle(order)
        for kind, path in order:
            timings[kind].append(fetch(base + path))
    return timings


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    pairs = page_pairs(args.config, args.database)
    base = f"http://127.0.0.1:{args.port}"
    # Warm up: asset bundles and QWeb compilation, once per page.
    for pair in pairs[:2]:
        fetch(base + pair[0])
        fetch(base + pair[1])
    with ThreadPoolExecutor(max_workers=CUSTOMERS) as pool:
        results = list(
            pool.map(lambda index: customer(base, pairs[index % len(pairs)], index), range(CUSTOMERS))
        )
    figures = {
        kind: [round(value * 1000, 1) for result in results for value in result[kind]]
        for kind in ("payment_request", "odoo_invoice")
    }
    figures["customers"] = CUSTOMERS
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
