"""Closed-loop load: each client issues one transfer after another until a shared deadline. Two kinds of
transfer share the harness: POST /api/v1/transfers, one HTTP/1.1 connection per client (kept alive when the
server allows it; gunicorn's sync workers close it after each response), all clients driven by one thread
over epoll in one process; and the same transaction shape written straight through pymysql (the baseline,
bench/_baseline.py), one thread per client, the threads spread over P processes."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import random
import resource
import select
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

Op = Callable[[random.Random], str]  # one transfer; returns "ok" or an error label such as "422 CODE"


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)  # seconds, every completed request
    results: Counter = field(default_factory=Counter)
    cpu: float = 0.0  # CPU seconds the load generator itself spent (all its threads)

    def merge(self, other: Outcome) -> None:
        self.latencies += other.latencies
        self.results += other.results
        self.cpu += other.cpu


@dataclass(frozen=True)
class Plan:
    """Who sends to whom: `hot` sends everything into parties[0] from any other party."""

    parties: list
    hot: bool

    def pick(self, rng: random.Random):
        if self.hot:
            return self.parties[rng.randrange(1, len(self.parties))], self.parties[0]
        sender, recipient = rng.sample(self.parties, 2)
        return sender, recipient


def run(load: Callable[[], Op] | HttpLoad, clients: int, seconds: float, procs: int) -> Outcome:
    """Run `clients` closed-loop clients for `seconds`; all start together after a short warm-up. `load` is
    a factory of blocking ops (pymysql), one thread each, spread over `procs` processes because one Python
    process cannot drive them fast enough under the GIL; or an HttpLoad, whose one event loop keeps up with
    far more than the server under test and so always runs in one process (a second costs CPU in wake-ups)."""
    context = multiprocessing.get_context("fork")  # the load closes over tokens and ids; fork shares them
    queue = context.Queue()
    procs = 1 if isinstance(load, HttpLoad) else procs
    start = time.time() + 1.0
    shares = [clients // procs + (i < clients % procs) for i in range(procs)]
    workers = [context.Process(target=_process, args=(load, n, start, start + seconds, queue), daemon=True)
               for n in shares if n]
    for worker in workers:
        worker.start()
    total = Outcome()
    try:
        for _ in workers:
            total.merge(queue.get(timeout=seconds + 120))
    finally:
        for worker in workers:
            worker.join(5)
            if worker.is_alive():
                worker.terminate()
    return total


def _process(load, clients: int, start: float, stop: float, queue) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent cleans up; we stop at the deadline anyway
    try:
        drive = load.drive if isinstance(load, HttpLoad) else _threads(load, clients)
    except Exception as error:  # noqa: BLE001 - e.g. no database connection: report it instead of hanging
        queue.put(Outcome(results=Counter({f"client setup failed: {error}": clients})))
        return
    before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        total = drive(clients, start, stop)
    except Exception as error:  # noqa: BLE001 - a bug in the load generator: report it instead of hanging
        total = Outcome(results=Counter({f"load generator failed: {error!r}": clients}))
    after = resource.getrusage(resource.RUSAGE_SELF)
    total.cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    queue.put(total)


def _threads(make_op: Callable[[], Op], threads: int) -> Callable[[int, float, float], Outcome]:
    """One thread per client, each with its own op (made now, so a failing connection shows up as setup)."""
    ops = [make_op() for _ in range(threads)]

    def drive(_clients: int, start: float, stop: float) -> Outcome:
        outcomes = [Outcome() for _ in ops]
        pool = [threading.Thread(target=_loop, args=(op, start, stop, out))
                for op, out in zip(ops, outcomes, strict=True)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        total = Outcome()
        for out in outcomes:
            total.merge(out)
        return total

    return drive


def _loop(op: Op, start: float, stop: float, out: Outcome) -> None:
    rng = random.Random()
    time.sleep(max(0.0, start - time.time()))
    while time.time() < stop:
        began = time.perf_counter()
        try:
            label = op(rng)
        except Exception as error:  # noqa: BLE001 - counted and shown, never hidden
            label = type(error).__name__
        out.latencies.append(time.perf_counter() - began)
        out.results[label] += 1


# -- through the API ------------------------------------------------------------------------------------

TIMEOUT = 30.0  # seconds: a request with no full response by then counts as "TimeoutError", as with http.client
BODY = (b'{"from_wallet_id": %s, "to_wallet_id": %s, "amount": %d, "currency": "USD",'
        b' "idempotency_key": "%s%d"}')  # the bytes json.dumps makes of the same dict


@dataclass(frozen=True)
class HttpLoad:
    """`POST /api/v1/transfers` from closed-loop clients, all driven by one thread over epoll with
    non-blocking sockets. The load generator takes its CPU from the server under test on the shared cores:
    a thread per client with http.client, json.dumps and uuid4 cost about 0.45 ms per request, this about
    0.18 ms, most of it the kernel's work for a TCP connection per request and for waking up."""

    port: int
    plan: Plan

    def drive(self, clients: int, start: float, stop: float) -> Outcome:
        return _HttpClients(self.port, self.plan).run(clients, start, stop)


def http_op(port: int, plan: Plan) -> HttpLoad:
    return HttpLoad(port, plan)


class _Client:
    """One closed-loop client: its connection (kept while the server allows) and the request in flight."""

    __slots__ = ("sock", "fd", "live", "began", "pending", "buf", "end", "length", "status", "close")

    def __init__(self):
        self.sock: socket.socket | None = None
        self.live = False  # a request in flight


class _HttpClients:
    """The same request http.client sent, built from pre-encoded bytes (headers per sender, the body by
    %-formatting, the idempotency key a per-process random prefix + a counter), sent with one send(), and
    its response read with a minimal parser: status line, Content-Length (or chunked, or up to the close)
    and Connection: close."""

    def __init__(self, port: int, plan: Plan):
        self.address, self.pick = ("127.0.0.1", port), plan.pick
        self.heads = {id(party): (f"POST /api/v1/transfers HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                                  f"Authorization: Bearer {party.token}\r\nContent-Type: application/json\r\n"
                                  "Content-Length: ").encode() for party in plan.parties}
        self.wallets = {id(party): json.dumps(party.wallet_id).encode() for party in plan.parties}
        self.prefix, self.count = os.urandom(8).hex().encode(), 0  # drawn after the fork: one per process
        self.rng = random.Random()
        self.poller = select.epoll()
        self.busy: dict[int, _Client] = {}  # fd -> client whose connection is open
        self.ready: list[_Client] = []  # clients to send their next request
        self.out = Outcome()

    def run(self, clients: int, start: float, stop: float) -> Outcome:
        time.sleep(max(0.0, start - time.time()))
        stop = time.perf_counter() + (stop - time.time())
        self.ready = [_Client() for _ in range(clients)]
        next_check = time.perf_counter() + 1
        while True:
            ready, self.ready = self.ready, []
            going = time.perf_counter() < stop
            for client in ready:
                if going:
                    self.send(client)
                elif client.sock is not None:
                    self.disconnect(client)
            if not self.busy and not self.ready:
                break
            for fd, _ in self.poller.poll(0 if self.ready else 1.0):
                client = self.busy.get(fd)
                if client is None or not client.live:  # e.g. a kept-alive connection closed before its next request
                    continue
                if client.pending:
                    self.flush(client, polled=True)
                else:
                    self.receive(client)
            if (now := time.perf_counter()) >= next_check:
                next_check = now + 1
                for client in [c for c in self.busy.values() if c.live and now - c.began > TIMEOUT]:
                    self.finish(client, "TimeoutError", close=True)
        self.poller.close()
        return self.out

    def send(self, client: _Client) -> None:
        request = self.next_request()
        if request is None:  # a finite workload (bench/deposits.py) has run out: this client is done
            if client.sock is not None:
                self.disconnect(client)
            return
        client.pending = request
        client.buf, client.end, client.live = b"", -1, True
        client.began = time.perf_counter()
        if client.sock is None:
            # No TCP_NODELAY: each request leaves in one send() with nothing unacknowledged before it.
            client.sock = sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
            client.fd = sock.fileno()
            error = sock.connect_ex(self.address)  # on loopback it is through by the time send() runs
            if error not in (0, errno.EINPROGRESS):
                return self.finish(client, type(OSError(error, "connect")).__name__, close=True)
            self.busy[client.fd] = client
            self.poller.register(client.fd, select.EPOLLIN)
        self.flush(client)

    def next_request(self) -> bytes | None:
        """The next transfer, random sender to random recipient; None would end the run early."""
        sender, recipient = self.pick(self.rng)
        self.count += 1
        body = BODY % (self.wallets[id(sender)], self.wallets[id(recipient)], self.rng.randint(1, 500), self.prefix,
                       self.count)
        return self.heads[id(sender)] + b"%d\r\n\r\n%s" % (len(body), body)

    def flush(self, client: _Client, polled: bool = False) -> None:
        try:
            sent = client.sock.send(client.pending)  # all of it, but for a full socket buffer
        except BlockingIOError:
            sent = 0
        except OSError as error:
            return self.finish(client, type(error).__name__, close=True)
        client.pending = client.pending[sent:]
        if bool(client.pending) != polled:  # start or stop waiting for room to send the rest
            self.poller.modify(client.fd, select.EPOLLOUT if client.pending else select.EPOLLIN)

    def receive(self, client: _Client) -> None:
        try:
            data = client.sock.recv(16384)
        except BlockingIOError:
            return
        except OSError as error:
            return self.finish(client, type(error).__name__, close=True)
        if not data:  # the server closed: a complete response only when it is delimited by the close
            if client.end >= 0 and client.length == -1:
                return self.finish(client, self.label(client.status, client.buf[client.end:]), close=True)
            return self.finish(client, "IncompleteRead" if client.buf else "RemoteDisconnected", close=True)
        client.buf += data
        try:
            if client.end < 0 and not self.parse_head(client):
                return
            buf, end, length = client.buf, client.end, client.length
            if length >= 0:
                if len(buf) >= end + length:
                    self.finish(client, self.label(client.status, buf[end:end + length]), close=client.close)
            elif length == -2 and (body := _dechunk(buf, end)) is not None:
                self.finish(client, self.label(client.status, body), close=client.close)
        except ValueError:  # no number where the status, a length or a chunk size should be
            self.finish(client, "BadResponse", close=True)

    def parse_head(self, client: _Client) -> bool:
        end = client.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = client.buf[:end + 2].lower()  # every header line ends in \r\n
        client.end, client.status = end + 4, int(head[9:12])
        client.close = head.startswith(b"http/1.0") or b"\r\nconnection: close\r\n" in head
        if client.status in (204, 304):
            client.length = 0
        elif (at := head.find(b"\r\ncontent-length:")) >= 0:
            client.length = int(head[at + 17:head.index(b"\r\n", at + 17)])
        else:
            client.length = -2 if b"\r\ntransfer-encoding: chunked\r\n" in head else -1  # -1: up to the close
        return True

    @staticmethod
    def label(status: int, payload: bytes) -> str:
        if status == 201:
            return "ok"
        try:
            return f"{status} {json.loads(payload)['error']['code']}"
        except (ValueError, KeyError, TypeError):
            return str(status)

    def finish(self, client: _Client, label: str, close: bool) -> None:
        self.out.latencies.append(time.perf_counter() - client.began)
        self.out.results[label] += 1
        client.live = False
        if close:
            self.disconnect(client)
        self.ready.append(client)

    def disconnect(self, client: _Client) -> None:
        self.busy.pop(client.fd, None)
        client.sock.close()  # which also takes the fd out of the epoll set
        client.sock = None


def _dechunk(buf: bytes, at: int) -> bytes | None:
    """The payload of a chunked body starting at `at`, or None while it is incomplete."""
    chunks = []
    while (eol := buf.find(b"\r\n", at)) >= 0:
        size = int(buf[at:eol].split(b";")[0], 16)
        if size == 0:
            return b"".join(chunks) if buf.find(b"\r\n\r\n", eol) >= 0 else None
        if len(buf) < eol + 4 + size:
            return None
        chunks.append(buf[eol + 2:eol + 2 + size])
        at = eol + 4 + size
    return None
