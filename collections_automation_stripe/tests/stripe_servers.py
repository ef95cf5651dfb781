"""A stand-in for Stripe's API on 127.0.0.1, for the tests. localstripe
(PyPI) refuses the PaymentIntent that Odoo's Stripe module sends (it knows
no ``description``, ``shipping`` or ``expand``), and tells no decline or
advice code: this fake answers Odoo's request as Stripe does, declines
included, and honours idempotency keys. Odoo's Stripe module reaches it
through the system parameter ``collections_automation.stripe_api_base``."""

import json
import socket
import threading
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


def free_port():
    """A port of 127.0.0.1 that nothing listens on (a Stripe out of reach)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeStripe:
    """``POST /v1/payment_intents`` only, read as Odoo's Stripe module
    sends it. The payment method id chooses the answer: ``pm_ok`` succeeds,
    ``pm_processing`` stays processing (Stripe tells the end by webhook),
    ``pm_requires_action`` waits for the customer to authenticate,
    ``pm_decline_<decline code>`` or ``pm_decline_<decline code>__<advice
    code>`` declines with a 402 card error as Stripe sends it. As Stripe, it
    refuses a request without the secret key or a required parameter. A
    repeated idempotency key gets the first answer again, without a new
    charge."""

    REQUIRED_PARAMS = ("amount", "currency", "customer", "payment_method")

    def __init__(self, secret_key):
        self.secret_key = secret_key
        self.charges = []  # (idempotency key, params) of each new charge
        self.headers = []  # the headers of each request
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
        if params.get("expand[]") == "payment_method":
            method_object = {
                "id": method,
                "object": "payment_method",
                "type": "card",
                "card": {"brand": "visa"},
            }
        else:
            method_object = method
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(params.get("amount", 0)),
            "currency": params.get("currency"),
            "description": params.get("description"),
            "customer": params.get("customer"),
            "payment_method": method_object,
        }
        if method == "pm_processing":
            return 200, {**intent, "status": "processing"}
        if method == "pm_requires_action":
            return 200, {**intent, "status": "requires_action"}
        if not method.startswith("pm_decline_"):
            return 200, {**intent, "status": "succeeded"}
        decline_code, _, advice_code = method.removeprefix("pm_decline_").partition("__")
        error = {
            "type": "card_error",
            "code": "card_declined" if decline_code != "expired_card" else "expired_card",
            "decline_code": decline_code,
            "message": "Your card was declined.",
        }
        if advice_code:
            error["advice_code"] = advice_code
        error["payment_intent"] = {
            **intent,
            "status": "requires_payment_method",
            "last_payment_error": dict(error),
        }
        return 402, {"error": error}

    @staticmethod
    def _refusal(message):
        return {"error": {"type": "invalid_request_error", "message": message}}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                params = dict(parse_qsl(self.rfile.read(length).decode()))
                key = self.headers.get("Idempotency-Key")
                fake.headers.append(dict(self.headers))
                missing = [name for name in fake.REQUIRED_PARAMS if not params.get(name)]
                if self.path != "/v1/payment_intents":
                    status, body = 404, fake._refusal("Unrecognized request URL")
                elif self.headers.get("Authorization") != f"Bearer {fake.secret_key}":
                    status, body = 401, fake._refusal("Invalid API Key provided")
                elif missing:
                    status, body = 400, fake._refusal(f"Missing required param: {missing[0]}.")
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
