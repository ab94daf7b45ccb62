"""Production-grade HTTP: money pages are never cached, static files have hashed names, a year-long immutable
cache and gzip, /metrics needs its bearer token, and the counters are right under several gunicorn workers."""

from __future__ import annotations

import gzip
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import PASSWORD, make_test_app
from webapp import assets

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "webapp" / "static"
IMMUTABLE = "max-age=31536000, public, immutable"
CSS_LINK = re.compile(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"')


def sign_in(client, user):
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303


def dashboard_html(client, wallets) -> str:
    sign_in(client, wallets.user())
    return client.get("/").get_data(as_text=True)


# -- no caching of anything dynamic ---------------------------------------------------------------------


def test_money_pages_fragments_api_and_redirects_are_no_store(app, client, wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    sent = alice.send(bob, 300).json["data"]["transaction"]
    assert client.get("/").headers["Cache-Control"] == "no-store"  # the redirect to sign-in
    sign_in(client, alice)
    responses = {
        "dashboard": client.get("/"),
        "history": client.get("/history"),
        "receipt": client.get(f"/transactions/{sent['id']}"),
        "htmx rows": client.get("/history", headers={"HX-Request": "true"}),
        "api": alice.get("/wallets"),
        "not found": client.get("/no-such-page"),
    }
    assert {name: r.headers.get("Cache-Control") for name, r in responses.items()} == dict.fromkeys(
        responses, "no-store")
    assert "<html" not in responses["htmx rows"].get_data(as_text=True)  # it was the fragment


def test_a_view_that_sets_its_own_cache_control_keeps_it(database_url):
    app = make_test_app(database_url)
    app.add_url_rule("/cacheable", "cacheable", lambda: ("ok", 200, {"Cache-Control": "public, max-age=60"}))
    assert app.test_client().get("/cacheable").headers.get_all("Cache-Control") == ["public, max-age=60"]


def test_our_responses_name_no_server_software(client):
    headers = client.get("/healthz").headers
    assert "Server" not in headers and "X-Powered-By" not in headers


# -- static files ---------------------------------------------------------------------------------------


def test_pages_link_hashed_names_served_with_an_immutable_year(client, wallets):
    html = dashboard_html(client, wallets)
    css = CSS_LINK.search(html).group(1)
    assert re.search(r'src="/static/js/htmx-2\.0\.11\.min\.[0-9a-f]{12}\.js"', html)
    assert re.search(r'src="/static/js/app\.[0-9a-f]{12}\.js"', html)
    response = client.get(css)
    assert response.status_code == 200 and response.data == (STATIC / "css" / "app.css").read_bytes()
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Access-Control-Allow-Origin" not in response.headers  # same-origin files, no CDN


def test_gzip_for_clients_that_take_it(client, wallets):
    css = CSS_LINK.search(dashboard_html(client, wallets)).group(1)
    zipped = client.get(css, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers["Vary"] == "Accept-Encoding"
    assert zipped.headers["Cache-Control"] == IMMUTABLE
    assert gzip.decompress(zipped.data) == (STATIC / "css" / "app.css").read_bytes()
    plain = client.get(css)
    assert "Content-Encoding" not in plain.headers and plain.headers["Vary"] == "Accept-Encoding"


@pytest.mark.parametrize("path", ["/static/css/app.css", "/static/js/app.js", "/static/css/app.0123456789ab.css",
                                  "/static/../config.py"])
def test_unhashed_or_unknown_static_names_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.headers["Cache-Control"] == "no-store"


def test_a_changed_file_gets_a_new_name_and_the_old_build_stays(tmp_path):
    source, root = tmp_path / "static", tmp_path / "build"
    (source / "css").mkdir(parents=True)
    (source / "css" / "app.css").write_text("body { color: black; }\n" * 50)
    (source / "js").mkdir()
    (source / "js" / "app.js").write_text("console.log('unchanged');\n")
    (source / "css" / ".app.css.swp").write_text("editor litter")
    first = assets.build(source, root)
    assert set(first.names) == {"css/app.css", "js/app.js"}  # dotfiles are not published
    assert re.fullmatch(r"css/app\.[0-9a-f]{12}\.css", first.names["css/app.css"])
    assert gzip.decompress((first.root / (first.names["css/app.css"] + ".gz")).read_bytes()) == (
        source / "css" / "app.css").read_bytes()

    (source / "css" / "app.css").write_text("body { color: navy; }\n" * 50)
    second = assets.build(source, root)
    assert second.names["css/app.css"] != first.names["css/app.css"]
    assert second.names["js/app.js"] == first.names["js/app.js"]
    assert second.root != first.root and (first.root / first.names["css/app.css"]).is_file()  # old pages still work
    assert "navy" in (second.root / second.names["css/app.css"]).read_text()


def test_workers_starting_together_share_one_complete_build(tmp_path):
    source, root = tmp_path / "static", tmp_path / "build"
    source.mkdir()
    for n in range(20):
        (source / f"file{n}.js").write_text(f"var n = {n};\n" * 200)
    with ThreadPoolExecutor(8) as pool:
        builds = list(pool.map(lambda _: assets.build(source, root), range(8)))
    assert len({b.root for b in builds}) == 1
    assert [p.name for p in root.iterdir()] == [builds[0].root.name]  # no staging directory left behind
    assert sorted(p.name for p in builds[0].root.iterdir() if not p.name.endswith(".gz")) == sorted(
        builds[0].names.values())
    again = assets.build(source, root)  # a restart re-uses the build as it is
    assert again == builds[0]


def test_static_build_dir_setting(database_url, wallets, tmp_path):
    app = make_test_app(database_url, STATIC_BUILD_DIR=str(tmp_path))
    css = CSS_LINK.search(dashboard_html(app.test_client(), wallets)).group(1)
    assert list(tmp_path.glob("*" + css.removeprefix("/static"))) != []


# -- /metrics -------------------------------------------------------------------------------------------


def test_metrics_do_not_exist_without_a_token(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_metrics_need_the_right_bearer_token(database_url):
    client = make_test_app(database_url, METRICS_TOKEN="s3cret-token").test_client()
    for header in (None, "Bearer wrong-token", "Bearer s3cret-toke", "Basic s3cret-token", "s3cret-token"):
        denied = client.get("/metrics", headers={"Authorization": header} if header else {})
        assert denied.status_code == 401 and b"ewallet_" not in denied.data, header
        assert denied.headers["WWW-Authenticate"].startswith("Bearer")
    scraped = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert scraped.status_code == 200 and b"ewallet_http_requests_total" in scraped.data
    assert scraped.headers["Content-Type"].startswith("text/plain") and scraped.headers["Cache-Control"] == "no-store"


# -- real gunicorn with two workers ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str, token: str = "") -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def _workers(master: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                found.add(int(entry.name))
        except OSError:
            continue
    return found


def _wait(condition, what: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout:.0f}s:\n{log.read_text()[-3000:]}")


@pytest.fixture()
def gunicorn(database_url, tmp_path):
    """gunicorn with two sync workers, our config module and multiprocess metrics, in its own session."""
    port, token, log = _free_port(), uuid.uuid4().hex, tmp_path / "gunicorn.log"
    env = {**os.environ, "DATABASE_URL": database_url, "EWALLET_ENV": "test", "SECRET_KEY": uuid.uuid4().hex * 2,
           "REDIS_URL": "", "RATELIMIT_ENABLED": "false", "METRICS_TOKEN": token,
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "EWALLET_INSTANCE_DIR": str(tmp_path),
           "UPLOAD_DIR": str(tmp_path / "uploads"), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "gunicorn", "-c", "python:webapp.gunicorn_conf", "--workers", "2",
               "--worker-class", "sync", "--bind", f"127.0.0.1:{port}", "--no-control-socket", "webapp:create_app()"]
    with log.open("wb") as sink:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        _wait(lambda: server.poll() is None and len(_workers(server.pid)) == 2
              and _get(port, "/readyz").status == 200, "gunicorn ready", log)
        yield server, port, token, log
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def _healthz_count(port: int, token: str) -> float:
    scraped = _get_text(port, "/metrics", token)
    for family in text_string_to_metric_families(scraped):
        for sample in family.samples:
            if sample.name == "ewallet_http_requests_total" and sample.labels.get("endpoint") == "ops.healthz":
                return sample.value
    return 0.0


def _get_text(port: int, path: str, token: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        assert response.status == 200
        return response.read().decode()
    finally:
        connection.close()


def test_counters_add_up_across_workers_and_restarts(gunicorn):
    """20 requests, then both workers replaced (as max_requests or a crash would), then 20 more. The scrape
    is answered by a new worker that served at most 20 of them, so 40 proves every process is counted."""
    server, port, token, log = gunicorn
    with ThreadPoolExecutor(4) as pool:  # concurrent, so both workers take some
        first = list(pool.map(lambda _: _get(port, "/healthz"), range(20)))
    assert {r.status for r in first} == {200}

    old = _workers(server.pid)
    for pid in old:
        os.kill(pid, signal.SIGTERM)
    _wait(lambda: len(_workers(server.pid)) == 2 and not _workers(server.pid) & old
          and _get(port, "/readyz").status == 200, "replacement workers", log)

    with ThreadPoolExecutor(4) as pool:
        second = list(pool.map(lambda _: _get(port, "/healthz"), range(20)))
    assert {r.status for r in second} == {200}
    assert _healthz_count(port, token) == 40  # /metrics and /readyz are counted under their own endpoints
    assert _get(port, "/metrics").status == 401 and _get(port, "/metrics", "wrong").status == 401
    assert server.poll() is None  # a failing child_exit hook would have taken the master down with it


def test_gunicorn_names_no_version(gunicorn):
    _, port, _, _ = gunicorn
    for path in ("/healthz", "/", "/no-such-page"):
        response = _get(port, path)
        servers = [value for name, value in response.getheaders() if name.lower() == "server"]
        assert len(servers) == 1 and not re.search(r"\d", servers[0]), servers
