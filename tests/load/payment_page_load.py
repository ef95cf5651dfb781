"""Load test of the payment-request page (``make load``).

Serves the load database with ``--workers=2`` on 127.0.0.1, then 20
concurrent customers open their payment-request page and, in the same run,
Odoo's own invoice portal page of the same invoice (both by access token,
without logging in). Prints the median and 95th percentile latency of each
as JSON. Bounded: a fixed number of requests, loopback only.
"""

import argparse
import json
import random
import statistics
import subprocess
import sys
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


def wait_for_server(base, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/web/login", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"Odoo did not answer on {base}")


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


def summary(values):
    ordered = sorted(values)
    return {
        "requests": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[max(int(len(ordered) * 0.95) - 1, 0)] * 1000, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, default=8079)
    parser.add_argument(
        "--odoo-bin", nargs=argparse.REMAINDER, required=True, help="the command that starts Odoo (last)"
    )
    args = parser.parse_args()
    pairs = page_pairs(args.config, args.database)
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [
            *args.odoo_bin,
            "-d",
            args.database,
            f"--db-filter=^{args.database}$",
            "--workers=2",
            "--max-cron-threads=0",
            "--http-interface=127.0.0.1",
            f"--http-port={args.port}",
            "--log-level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=sys.stderr,
    )
    try:
        wait_for_server(base)
        # Warm up: asset bundles and QWeb compilation, once per page.
        for pair in pairs[:2]:
            fetch(base + pair[0])
            fetch(base + pair[1])
        with ThreadPoolExecutor(max_workers=CUSTOMERS) as pool:
            results = list(
                pool.map(lambda index: customer(base, pairs[index % len(pairs)], index), range(CUSTOMERS))
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures = {
        kind: summary([value for result in results for value in result[kind]])
        for kind in ("payment_request", "odoo_invoice")
    }
    figures["customers"] = CUSTOMERS
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
