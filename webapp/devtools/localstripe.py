"""localstripe (PyPI, GPL; a development and test tool, never shipped) started the way this project needs it.

localstripe's own `localstripe` command listens on every interface and, even with --from-scratch, writes
/tmp/localstripe.pickle after every POST. Here it runs in a child process on 127.0.0.1 only, on a free
port, and keeps its state in memory alone. Two small gap fills, for development and tests only:
- listing PaymentIntents by `created` (real Stripe's filter, used by `ewallet reconcile --stripe`), which
  localstripe 1.15.10 refuses with a 400;
- the Stripe.js stand-in of webapp/devtools/stripe_standin.py, when that module is present.

    server = start()                       # a LocalStripe; server.url is "http://127.0.0.1:<port>"
    server.register_webhook("http://127.0.0.1:5000/api/v1/webhooks/stripe", secret)
    ...
    server.stop()

`python -m webapp.devtools.localstripe [--port N]` runs the server in the foreground.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

LOOPBACK = "127.0.0.1"
READY = "localstripe listening on "


@dataclass
class LocalStripe:
    process: subprocess.Popen
    url: str  # the base for STRIPE_API_BASE

    def register_webhook(self, url: str, secret: str, *, name: str = "ewallet", events: list[str] | None = None):
        """localstripe signs each event with `secret` and POSTs it to `url` once, about a second later."""
        body = {"url": url, "secret": secret, **({"events": events} if events else {})}
        self._call("POST", f"/_config/webhooks/{name}", body)

    def flush(self) -> None:
        """Forget every object (DELETE /_config/data); registered webhooks stay."""
        self._call("DELETE", "/_config/data")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _call(self, method: str, path: str, body: dict | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


def start(*, port: int = 0, timeout: float = 20, quiet: bool = True) -> LocalStripe:
    """Run localstripe in a child process on 127.0.0.1 and return once it answers."""
    process = subprocess.Popen([sys.executable, "-m", "webapp.devtools.localstripe", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL if quiet else None, text=True)
    line = process.stdout.readline()  # the child prints its address once its socket is bound
    if not line.startswith(READY):
        process.kill()
        raise RuntimeError(f"localstripe did not start: {line!r}")
    server = LocalStripe(process, line.removeprefix(READY).strip())
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(server.url + "/js.stripe.com/v3/", timeout=2).read()
            return server
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                server.stop()
                raise RuntimeError("localstripe did not answer") from None
            time.sleep(0.05)


def serve(port: int = 0) -> None:
    """The child process: localstripe's aiohttp app on loopback, state in memory only."""
    from aiohttp import web
    from localstripe import resources, server

    resources.store.dump_to_disk = lambda: None  # no /tmp/localstripe.pickle, ever
    _filter_payment_intents_by_created(resources)
    try:
        from webapp.devtools import stripe_standin
    except ImportError:
        stripe_standin = None
    if stripe_standin is not None:
        stripe_standin.install(server.app)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, port))
    print(f"{READY}http://{LOOPBACK}:{sock.getsockname()[1]}", flush=True)
    web.run_app(server.app, sock=sock, print=None, access_log=None)


def _filter_payment_intents_by_created(resources) -> None:
    """GET /v1/payment_intents?created[gte]=…&created[lt]=… as on Stripe (localstripe knows it for events)."""
    original = resources.PaymentIntent._api_list_all.__func__

    def list_all(cls, url, created=None, **kwargs):
        listing = original(cls, url, **kwargs)
        bounds = {op: int(value) for op, value in (created or {}).items()}
        tests = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
        listing._list = [obj for obj in listing._list
                         if all(tests[op](obj.created, bound) for op, bound in bounds.items())]
        return listing

    resources.PaymentIntent._api_list_all = classmethod(list_all)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="localstripe on 127.0.0.1, in memory only (dev/test)")
    parser.add_argument("--port", type=int, default=0)
    serve(parser.parse_args().port)
