"""Stand-ins for Stripe's API on 127.0.0.1, for the tests: localstripe
(PyPI) where it plays the part, and a small fake that answers with
Stripe-shaped declines (decline and advice codes) and honours idempotency
keys, which localstripe does not."""

import json
import socket
import subprocess
import sys
import threading
import time
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


def free_port():
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing answers on 127.0.0.1:{port}")


class LocalStripe:
    """localstripe in a subprocess, started and stopped by the tests."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localstripe", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)


class FakeStripe:
    """``POST /v1/payment_intents`` only. The payment method id chooses the
    answer: ``pm_ok`` succeeds, ``pm_processing`` stays processing (Stripe
    tells the end by webhook), ``pm_decline_<decline code>`` or
    ``pm_decline_<decline code>__<advice code>`` declines with a 402 card
    error as Stripe sends it. A repeated idempotency key gets the first
    answer again, without a new charge."""

    def __init__(self):
        self.charges = []  # (idempotency key, params) of each new charge
        self.answers = {}  # idempotency key: (status, body)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, params):
        intent_id = f"pi_fake_{len(self.charges)}"
        method = params.get("payment_method", "")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(params.get("amount", 0)),
            "currency": params.get("currency"),
            "metadata": {
                key[len("metadata[") : -1]: value
                for key, value in params.items()
                if key.startswith("metadata[")
            },
        }
        if method == "pm_processing":
            return 200, {**intent, "status": "processing"}
        if not method.startswith("pm_decline_"):
            return 200, {**intent, "status": "succeeded"}
        decline_code, _, advice_code = method.removeprefix("pm_decline_").partition("__")
        error = {
            "type": "card_error",
            "code": "card_declined" if decline_code != "expired_card" else "expired_card",
            "decline_code": decline_code,
            "message": "Your card was declined.",
            "payment_intent": {**intent, "status": "requires_payment_method"},
        }
        if advice_code:
            error["advice_code"] = advice_code
        return 402, {"error": error}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                params = dict(parse_qsl(self.rfile.read(length).decode()))
                key = self.headers.get("Idempotency-Key")
                if self.path != "/v1/payment_intents":
                    status, body = (
                        404,
                        {"error": {"type": "invalid_request_error", "message": "Unknown path"}},
                    )
                else:
                    with fake.lock:
                        if key and key in fake.answers:
                            status, body = fake.answers[key]
                        else:
                            status, body = fake._answer(params)
                            fake.charges.append((key, params))
                            if key:
                                fake.answers[key] = (status, body)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        return Handler
