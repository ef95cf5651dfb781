"""Screenshots of the README (``make screenshots``), taken in Chromium from
the demo database: the overview kanban, the process designer with its
timeline preview, the analysis pivot, the KPI screen, the Collections
dashboard of the Dashboards app, and the customer's payment page on a
phone-sized screen. Run on demand, not in CI.

Serves the database on 127.0.0.1, logs in as the demo administrator over
JSON-RPC, then drives a headless Chromium through the DevTools protocol.
"""

import argparse
import base64
import http.cookiejar
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

DESKTOP = (1440, 900, False)
DESKTOP_TALL = (1440, 1250, False)
PHONE = (390, 844, True)


class Odoo:
    def __init__(self, base):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def wait(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with self.opener.open(f"{self.base}/web/login", timeout=5):
                    return
            except OSError:
                time.sleep(0.5)
        raise SystemExit(f"Odoo did not answer on {self.base}")

    def rpc(self, route, params):
        request = urllib.request.Request(
            f"{self.base}{route}",
            data=json.dumps({"jsonrpc": "2.0", "method": "call", "params": params}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with self.opener.open(request, timeout=60) as response:
            body = json.load(response)
        if "error" in body:
            raise SystemExit(f"{route}: {body['error']['data']['message']}")
        return body["result"]

    def call(self, model, method, *args, **kwargs):
        return self.rpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def session_id(self):
        return next(cookie.value for cookie in self.cookies if cookie.name == "session_id")


class Chromium:
    """A headless Chromium driven through the DevTools protocol."""

    def __init__(self, port):
        self.port = port
        self.profile = tempfile.mkdtemp(prefix="collections-shots-")
        binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        if not binary:
            raise SystemExit("Chromium is missing: apt-get install chromium (make test installs it)")
        self.process = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--remote-debugging-port={port}",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.socket = websocket.create_connection(self._page_socket_url(), timeout=60)
        self.next_id = 0

    def _page_socket_url(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=5) as response:
                    pages = [target for target in json.load(response) if target["type"] == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit("Chromium did not start")

    def send(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise SystemExit(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_for(self, selector, timeout=30):
        deadline = time.monotonic() + timeout
        expression = f"!!document.querySelector({json.dumps(selector)})"
        while time.monotonic() < deadline:
            if self.send("Runtime.evaluate", expression=expression)["result"].get("value"):
                return
            time.sleep(0.3)
        raise SystemExit(f"{selector} did not show")

    def shoot(self, url, selector, path, size, click=None, scroll_to=None):
        """``click``: (selector to click once ``selector`` shows, selector to
        wait for then); ``scroll_to``: a selector to bring to the top."""
        width, height, mobile = size
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )
        self.send("Page.navigate", url=url)
        time.sleep(1)
        self.wait_for(selector)
        if click:
            target, shown = click
            self.send("Runtime.evaluate", expression=f"document.querySelector({json.dumps(target)}).click()")
            self.wait_for(shown)
            time.sleep(2)  # the clicked view loads its data
        if scroll_to:
            self.wait_for(scroll_to)
            target = f"document.querySelector({json.dumps(scroll_to)})"
            self.send("Runtime.evaluate", expression=f"{target}.scrollIntoView({{block: 'center'}})")
        time.sleep(1.5)  # let fonts and charts settle
        data = self.send("Page.captureScreenshot", format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))
        print(f"[screenshots] {path}", file=sys.stderr)

    def close(self):
        self.socket.close()
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


def shoot_payment_score(browser, odoo, base, out):
    """collections_automation_score's screens: the worklist, a customer the
    score worries about, the current training, the cash-in forecast."""
    risky_customer = odoo.call(
        "collection.customer.score",
        "search_read",
        [["computed_band", "in", ["C", "D"]], ["factors", "ilike", "the due date"]],
        ["partner_id"],
        limit=1,
        order="id",
    )[0]["partner_id"][0]
    training = odoo.call("collection.score.model", "search", [], limit=1)[0]
    action = "/odoo/action-collections_automation"
    score = "/odoo/action-collections_automation_score"
    worklist = f"{base}{score}.collection_enrollment_action_worklist"
    browser.shoot(worklist, ".o_data_row", out / "worklist.png", DESKTOP)
    browser.shoot(
        f"{base}/odoo/action-account.res_partner_action_customer/{risky_customer}",
        ".o_form_view",
        out / "customer_score.png",
        DESKTOP,
        click=("a.nav-link[name='collections']", ".o_field_widget[name='collection_score_factors']"),
        scroll_to="div[name='collection_score_band']",
    )
    browser.shoot(
        f"{base}{score}.collection_score_model_action/{training}",
        ".o_collection_score_quality",
        out / "score_model.png",
        DESKTOP_TALL,
    )
    browser.shoot(
        f"{base}{action}.collection_dashboard_action",
        ".o_collection_stage_kpis",
        out / "cash_forecast.png",
        DESKTOP,
        scroll_to=".o_collection_cash_forecast",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--debug-port", type=int, default=9229)
    parser.add_argument("--out", required=True)
    parser.add_argument("--dashboard-out", required=True, help="the dashboard bridge's screenshots")
    parser.add_argument("--score-out", required=True, help="the payment score's screenshots")
    parser.add_argument("--odoo-bin", nargs=argparse.REMAINDER, required=True)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dashboard_out = Path(args.dashboard_out)
    dashboard_out.mkdir(parents=True, exist_ok=True)
    score_out = Path(args.score_out)
    score_out.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [*args.odoo_bin, "-d", args.database, f"--db-filter=^{args.database}$", f"--http-port={args.port}",
         "--http-interface=127.0.0.1", "--max-cron-threads=0", "--log-level=warn"],
        stdout=subprocess.DEVNULL,
        stderr=sys.stderr,
    )  # fmt: skip
    browser = None
    try:
        odoo = Odoo(base)
        odoo.wait()
        odoo.rpc("/web/session/authenticate", {"db": args.database, "login": "admin", "password": "admin"})
        process_id = odoo.call("collection.process", "search", [["name", "ilike", "standard"]], limit=1)[0]
        request_id = odoo.call(
            "collection.enrollment", "search", [["state", "=", "running"], ["move_id", "!=", False]], limit=1
        )[0]
        payment_page = odoo.call("collection.enrollment", "get_portal_url", [request_id])
        finance = odoo.call("spreadsheet.dashboard", "search", [["dashboard_group_id.name", "=", "Finance"]])
        dashboard_id = odoo.call(
            "spreadsheet.dashboard", "search", [["name", "=", "Collections"], ["id", "in", finance]], limit=1
        )[0]
        dashboard_position = finance.index(dashboard_id) + 1
        browser = Chromium(args.debug_port)
        browser.send("Network.enable")
        browser.send(
            "Network.setCookie", name="session_id", value=odoo.session_id(), domain="127.0.0.1", path="/"
        )
        action = "/odoo/action-collections_automation"
        shots = [
            (
                f"{base}{action}.collection_enrollment_overview_action",
                ".o_kanban_record",
                "overview.png",
                DESKTOP,
            ),
            (
                f"{base}{action}.collection_process_action/{process_id}",
                ".o_collection_timeline",
                "designer.png",
                DESKTOP_TALL,
            ),
            (f"{base}{action}.collection_analysis_action", ".o_pivot table", "analysis.png", DESKTOP),
            (
                f"{base}{action}.collection_dashboard_action",
                ".o_collection_stage_kpis",
                "kpis.png",
                DESKTOP_TALL,
            ),
        ]
        for url, selector, name, size in shots:
            browser.shoot(url, selector, out / name, size)
        shoot_payment_score(browser, odoo, base, score_out)
        # The dashboard opens on the first of the Dashboards app: pick ours.
        browser.shoot(
            f"{base}/odoo/dashboards",
            ".o_spreadsheet_dashboard_action .o_dashboard_name",
            dashboard_out / "dashboard.png",
            DESKTOP_TALL,
            click=(
                f".o_search_panel_category_value:nth-child({dashboard_position}) .o_dashboard_name",
                f".o_search_panel_category_value.active:nth-child({dashboard_position})",
            ),
        )
        # The customer is not logged in: a fresh session, by the emailed link.
        browser.send("Network.clearBrowserCookies")
        browser.shoot(f"{base}{payment_page}", ".o_collection_request", out / "payment_page_phone.png", PHONE)
    finally:
        if browser:
            browser.close()
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
