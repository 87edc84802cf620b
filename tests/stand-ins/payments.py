#!/usr/bin/env python3
"""A local stand-in for the payment providers' APIs, for tests: the providers' own
networks cannot be reached from a test machine.

It speaks the documented formats the server uses and sends webhooks signed the providers'
way:

Stripe
  POST /v1/checkout/sessions          form-encoded, `Authorization: Bearer sk_…`, honours
                                      `Idempotency-Key`; answers {id: cs_…, url, …}
  POST /v1/checkout/sessions/{id}/expire
  GET|POST /pay/{id}                  the hosted page: "Pay" or "Cancel"; paying sends
                                      `checkout.session.completed` signed with
                                      `Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")`
                                      and returns the browser to `success_url`
PayPal
  POST /v1/oauth2/token               Basic client_id:secret
  POST /v2/checkout/orders            intent CAPTURE; answers a `payer-action` link
  GET|POST /paypal/approve/{id}       the approval page; sends CHECKOUT.ORDER.APPROVED and
                                      returns the browser to return_url?token=…
  POST /v2/checkout/orders/{id}/capture   sends PAYMENT.CAPTURE.COMPLETED
  POST /v1/notifications/verify-webhook-signature
                                      checks the PAYPAL-TRANSMISSION-SIG it made over
                                      transmission id | time | webhook id | CRC32(event)

Webhooks go to the site the checkout returns to (`{origin}/api/v1/payments/webhooks/…`),
connecting to 127.0.0.1 at that origin's port with its Host header.

Usage: payments.py --stripe-secret whsec_… --paypal-webhook-id WH-… [--port 0]
Prints `listening 127.0.0.1:PORT` once it answers; logs each webhook it sent and the
answer to stderr.
"""

import argparse
import base64
import binascii
import hashlib
import hmac
import html
import http.client
import json
import secrets
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
SESSIONS = {}  # Stripe checkout sessions by id
IDEMPOTENT = {}  # Stripe idempotency key -> session id
ORDERS = {}  # PayPal orders by id
TOKENS = set()  # PayPal access tokens
SIGNING_KEY = secrets.token_bytes(32)  # what the stand-in "PayPal" signs webhooks with
ARGS = None


def post_webhook(origin, path, body, headers):
    """Sends a webhook to the site at `origin` (through 127.0.0.1); returns its status."""
    parsed = urllib.parse.urlsplit(origin)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        all_headers = {"Host": parsed.netloc, "Content-Type": "application/json"}
        all_headers.update(headers)
        connection.request("POST", path, body=body, headers=all_headers)
        response = connection.getresponse()
        answer = response.read().decode("utf-8", "replace")
        print(f"webhook {path} -> {response.status} {answer}", file=sys.stderr, flush=True)
        return response.status
    finally:
        connection.close()


def origin_of(url):
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def stripe_event(kind, session):
    event = {
        "id": "evt_" + secrets.token_hex(12),
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": session},
    }
    body = json.dumps(event).encode()
    stamp = int(time.time())
    signature = hmac.new(ARGS.stripe_secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    post_webhook(
        origin_of(session["success_url"]),
        "/api/v1/payments/webhooks/stripe",
        body,
        {"Stripe-Signature": f"t={stamp},v1={signature}"},
    )


def paypal_signature(transmission_id, stamp, webhook_id, body):
    crc = binascii.crc32(body) & 0xFFFFFFFF
    message = f"{transmission_id}|{stamp}|{webhook_id}|{crc}".encode()
    return base64.b64encode(hmac.new(SIGNING_KEY, message, hashlib.sha256).digest()).decode()


def paypal_event(kind, resource, return_url):
    event = {
        "id": "WH-" + secrets.token_hex(10).upper(),
        "event_version": "1.0",
        "create_time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resource_type": "capture" if kind.startswith("PAYMENT.") else "checkout-order",
        "event_type": kind,
        "resource": resource,
    }
    body = json.dumps(event).encode()
    transmission_id = secrets.token_hex(16)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = paypal_signature(transmission_id, stamp, ARGS.paypal_webhook_id, body)
    port = ARGS.bound_port
    post_webhook(
        origin_of(return_url),
        "/api/v1/payments/webhooks/paypal",
        body,
        {
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": f"http://127.0.0.1:{port}/v1/notifications/certs/stand-in",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-TRANSMISSION-TIME": stamp,
        },
    )


def later(function, *args):
    """Webhooks arrive on their own, as the providers send them: after the answer."""
    threading.Timer(0.2, function, args).start()


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1><p>{text}</p>
<form method="post"><button type="submit" name="action" value="{yes}">{yes_label}</button>
<button type="submit" name="action" value="cancel">Cancel</button></form></main></body></html>"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        print("stand-in: " + format % args, file=sys.stderr, flush=True)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status, value, content_type="application/json"):
        data = value if isinstance(value, bytes) else json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def redirect(self, location):
        self.send_response(303)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def stripe_error(self, status, message):
        self.answer(status, {"error": {"type": "invalid_request_error", "message": message}})

    def stripe_key(self):
        auth = self.headers.get("Authorization", "")
        return auth.startswith("Bearer sk_test_") or auth.startswith("Bearer sk_live_")

    def paypal_token(self):
        auth = self.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[len("Bearer "):] in TOKENS

    # -- GET ---------------------------------------------------------------------------
    def do_GET(self):  # noqa: N802 - the stdlib's name
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/pay/"):
            session = SESSIONS.get(path[len("/pay/"):])
            if not session:
                return self.answer(404, b"no such checkout", "text/plain")
            amount = session["amount_total"] / 100
            title = f"Pay {session['currency'].upper()} {amount:.2f}"
            name = html.escape(session["line_items"][0]["name"])
            text = f"{name} (stand-in Stripe Checkout)"
            page = PAGE.format(title=title, text=text, yes="pay", yes_label="Pay")
            return self.answer(200, page.encode(), "text/html; charset=utf-8")
        if path.startswith("/paypal/approve/"):
            order = ORDERS.get(path[len("/paypal/approve/"):])
            if not order:
                return self.answer(404, b"no such order", "text/plain")
            unit = order["purchase_units"][0]
            title = f"Approve {unit['amount']['currency_code']} {unit['amount']['value']}"
            page = PAGE.format(title=title, text="stand-in PayPal", yes="approve", yes_label="Approve")
            return self.answer(200, page.encode(), "text/html; charset=utf-8")
        return self.answer(404, {"error": {"message": "unknown path"}})

    # -- POST --------------------------------------------------------------------------
    def do_POST(self):  # noqa: N802 - the stdlib's name
        path = urllib.parse.urlsplit(self.path).path
        raw = self.body()
        if path == "/v1/checkout/sessions":
            return self.create_session(raw)
        if path.startswith("/v1/checkout/sessions/") and path.endswith("/expire"):
            return self.expire_session(path.split("/")[4])
        if path.startswith("/pay/"):
            return self.pay(path[len("/pay/"):], raw)
        if path == "/v1/oauth2/token":
            return self.token(raw)
        if path == "/v2/checkout/orders":
            return self.create_order(raw)
        if path.startswith("/paypal/approve/"):
            return self.approve(path[len("/paypal/approve/"):], raw)
        if path.startswith("/v2/checkout/orders/") and path.endswith("/capture"):
            return self.capture(path.split("/")[4])
        if path == "/v1/notifications/verify-webhook-signature":
            return self.verify(raw)
        return self.answer(404, {"error": {"message": "unknown path"}})

    def create_session(self, raw):
        if not self.stripe_key():
            return self.stripe_error(401, "Invalid API Key provided")
        form = dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
        key = self.headers.get("Idempotency-Key")
        with LOCK:
            if key and key in IDEMPOTENT:
                return self.answer(200, SESSIONS[IDEMPOTENT[key]])
        for needed in ("mode", "success_url", "cancel_url", "line_items[0][price_data][currency]",
                       "line_items[0][price_data][unit_amount]", "line_items[0][quantity]"):
            if not form.get(needed):
                return self.stripe_error(400, f"Missing required param: {needed}.")
        if form["mode"] != "payment":
            return self.stripe_error(400, "Invalid mode")
        try:
            unit = int(form["line_items[0][price_data][unit_amount]"])
            quantity = int(form["line_items[0][quantity]"])
        except ValueError:
            return self.stripe_error(400, "Invalid integer")
        if unit < 1:
            return self.stripe_error(400, "unit_amount must be at least 1")
        expires = int(form.get("expires_at") or time.time() + 86400)
        if expires < time.time() + 30 * 60 - 5:
            return self.stripe_error(400, "expires_at must be at least 30 minutes from now")
        session_id = "cs_test_" + secrets.token_hex(16)
        port = ARGS.bound_port
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": unit * quantity,
            "currency": form["line_items[0][price_data][currency]"],
            "client_reference_id": form.get("client_reference_id"),
            "metadata": {k[len("metadata["):-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "success_url": form["success_url"],
            "cancel_url": form["cancel_url"],
            "expires_at": expires,
            "line_items": [{"name": form.get("line_items[0][price_data][product_data][name]", "")}],
            "url": f"http://127.0.0.1:{port}/pay/{session_id}",
        }
        with LOCK:
            SESSIONS[session_id] = session
            if key:
                IDEMPOTENT[key] = session_id
        return self.answer(200, session)

    def expire_session(self, session_id):
        if not self.stripe_key():
            return self.stripe_error(401, "Invalid API Key provided")
        with LOCK:
            session = SESSIONS.get(session_id)
            if not session:
                return self.stripe_error(404, f"No such checkout.session: '{session_id}'")
            if session["status"] != "open":
                return self.stripe_error(400, f"Only open sessions can be expired; this one is {session['status']}")
            session["status"] = "expired"
        later(stripe_event, "checkout.session.expired", dict(session))
        return self.answer(200, session)

    def pay(self, session_id, raw):
        action = dict(urllib.parse.parse_qsl(raw.decode())).get("action")
        with LOCK:
            session = SESSIONS.get(session_id)
            if not session:
                return self.answer(404, b"no such checkout", "text/plain")
            if action == "cancel":
                return self.redirect(session["cancel_url"])
            if session["status"] != "open":
                return self.answer(409, f"this checkout is {session['status']}".encode(), "text/plain")
            session["status"] = "complete"
            session["payment_status"] = "paid"
            paid = dict(session)
        later(stripe_event, "checkout.session.completed", paid)
        return self.redirect(session["success_url"])

    def token(self, raw):
        auth = self.headers.get("Authorization", "")
        try:
            client, _, secret = base64.b64decode(auth[len("Basic "):]).decode().partition(":")
        except (ValueError, binascii.Error):
            client, secret = "", ""
        if not auth.startswith("Basic ") or not client or not secret:
            return self.answer(401, {"error": "invalid_client", "error_description": "Client Authentication failed"})
        if dict(urllib.parse.parse_qsl(raw.decode())).get("grant_type") != "client_credentials":
            return self.answer(400, {"error": "unsupported_grant_type"})
        token = "A21AA" + secrets.token_hex(16)
        with LOCK:
            TOKENS.add(token)
        return self.answer(200, {"scope": "https://uri.paypal.com/services/payments", "access_token": token,
                                 "token_type": "Bearer", "expires_in": 32400})

    def create_order(self, raw):
        if not self.paypal_token():
            return self.answer(401, {"name": "AUTHENTICATION_FAILURE", "message": "Authentication failed"})
        try:
            request = json.loads(raw)
            unit = request["purchase_units"][0]
            context = request["payment_source"]["paypal"]["experience_context"]
            amount = unit["amount"]
            assert request["intent"] == "CAPTURE" and amount["currency_code"] and amount["value"]
            assert context["return_url"] and context["cancel_url"]
        except (ValueError, KeyError, IndexError, TypeError, AssertionError):
            return self.answer(422, {"name": "UNPROCESSABLE_ENTITY", "message": "The request is not a valid order"})
        order_id = secrets.token_hex(8).upper()
        port = ARGS.bound_port
        order = {
            "id": order_id,
            "status": "PAYER_ACTION_REQUIRED",
            "purchase_units": [unit],
            "context": context,
            "links": [
                {"rel": "self", "href": f"http://127.0.0.1:{port}/v2/checkout/orders/{order_id}", "method": "GET"},
                {"rel": "payer-action", "href": f"http://127.0.0.1:{port}/paypal/approve/{order_id}", "method": "GET"},
            ],
        }
        with LOCK:
            ORDERS[order_id] = order
        return self.answer(200, {k: v for k, v in order.items() if k != "context"})

    def approve(self, order_id, raw):
        action = dict(urllib.parse.parse_qsl(raw.decode())).get("action")
        with LOCK:
            order = ORDERS.get(order_id)
            if not order:
                return self.answer(404, b"no such order", "text/plain")
            context = order["context"]
            if action == "cancel":
                return self.redirect(context["cancel_url"])
            order["status"] = "APPROVED"
        later(paypal_event, "CHECKOUT.ORDER.APPROVED", {"id": order_id, "status": "APPROVED"}, context["return_url"])
        separator = "&" if "?" in context["return_url"] else "?"
        return self.redirect(f"{context['return_url']}{separator}token={order_id}&PayerID=STANDINPAYER")

    def capture(self, order_id):
        if not self.paypal_token():
            return self.answer(401, {"name": "AUTHENTICATION_FAILURE", "message": "Authentication failed"})
        with LOCK:
            order = ORDERS.get(order_id)
            if not order:
                return self.answer(404, {"name": "RESOURCE_NOT_FOUND", "message": "The specified resource does not exist."})
            if order["status"] == "COMPLETED":
                return self.answer(200, order["captured"])
            if order["status"] != "APPROVED":
                return self.answer(422, {"name": "UNPROCESSABLE_ENTITY", "message": "ORDER_NOT_APPROVED"})
            unit = order["purchase_units"][0]
            capture = {
                "id": secrets.token_hex(8).upper(),
                "status": "COMPLETED",
                "amount": unit["amount"],
                "custom_id": unit.get("custom_id"),
                "supplementary_data": {"related_ids": {"order_id": order_id}},
            }
            order["status"] = "COMPLETED"
            order["captured"] = {"id": order_id, "status": "COMPLETED",
                                 "purchase_units": [{"payments": {"captures": [capture]}}]}
            return_url = order["context"]["return_url"]
        later(paypal_event, "PAYMENT.CAPTURE.COMPLETED", capture, return_url)
        return self.answer(201, order["captured"])

    def verify(self, raw):
        if not self.paypal_token():
            return self.answer(401, {"name": "AUTHENTICATION_FAILURE", "message": "Authentication failed"})
        text = raw.decode("utf-8", "replace")
        marker = '"webhook_event":'
        try:
            fields = json.loads(raw)
            event = text[text.index(marker) + len(marker):].rstrip()
            assert event.endswith("}")
            event = event[:-1].encode()
            json.loads(event)
        except (ValueError, AssertionError):
            return self.answer(400, {"name": "VALIDATION_ERROR", "message": "Invalid request"})
        expected = paypal_signature(fields.get("transmission_id", ""), fields.get("transmission_time", ""),
                                    fields.get("webhook_id", ""), event)
        genuine = (fields.get("webhook_id") == ARGS.paypal_webhook_id
                   and hmac.compare_digest(expected, fields.get("transmission_sig", "")))
        return self.answer(200, {"verification_status": "SUCCESS" if genuine else "FAILURE"})


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--stripe-secret", required=True, help="the webhook signing secret (whsec_…)")
    parser.add_argument("--paypal-webhook-id", required=True)
    ARGS = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    ARGS.bound_port = server.server_address[1]
    print(f"listening 127.0.0.1:{ARGS.bound_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
