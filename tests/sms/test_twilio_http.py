"""The urllib3 transport under the real twilio client (`sms.twilio_http`), against real sockets.

Each failure class is produced by a loopback server that really behaves so: nobody
listening, a full accept queue, a server that takes the request and never answers, one
that closes mid-answer. The requests are compared byte for byte with the library's own
`TwilioHttpClient` (over requests), and proxies and CA bundles come from the environment.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st
from requests.models import RequestEncodingMixin
from socket_servers import RawHttpServer, RawRequest, http_reply
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from deadline_watch.core.errors import SmsError
from deadline_watch.fakes.twilio import FakeTwilio
from deadline_watch.sms.twilio_http import BaseUrlHttpClient, form_encoded

SID = "AC" + "0" * 32
TOKEN = "secret-token"
FROM = "+15005550006"
TO = "+8613800138000"
BODY = "【高新区督办】张三同志:项目“天府软件园三期建设”组织实施节点将于3月9日到期,请抓紧推进。& = + %"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                   "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
MESSAGE = {"sid": "SM" + "1" * 32, "account_sid": SID, "to": TO, "from": FROM, "body": BODY, "status": "queued",
           "num_segments": "2", "date_created": "Mon, 02 Mar 2026 01:30:00 +0000", "price": None}
CREATED = http_reply("201 Created", json.dumps(MESSAGE).encode(), headers={"Content-Type": "application/json"})
LISTED = http_reply("200 OK", json.dumps({"messages": [MESSAGE], "meta": {"key": "messages", "next_page_url": None}})
                    .encode(), headers={"Content-Type": "application/json; charset=utf-8"})


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def client(base_url: str, *, timeout: float = 5.0) -> Client:
    return Client(SID, TOKEN, http_client=BaseUrlHttpClient(base_url, timeout=timeout))


def send(twilio: Client) -> object:
    return twilio.messages.create(to=TO, from_=FROM, body=BODY, status_callback="https://board.example/twilio/status")


def sms_error(twilio: Client) -> SmsError:
    with pytest.raises(SmsError) as caught:
        send(twilio)
    return caught.value


def answering(reply: bytes):  # noqa: ANN201 - a reply callback for RawHttpServer
    return lambda request: CREATED if request.request_line.startswith("POST") else reply


class StockClient(TwilioHttpClient):
    """The library's own transport (requests), pointed at the same server."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=5)
        self.rewriter = BaseUrlHttpClient(base_url, timeout=5)

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        return super().request(method, self.rewriter.rewrite(url), *args, **kwargs)


def comparable(request: RawRequest) -> tuple:
    return request.request_line, sorted((key.lower(), value) for key, value in request.headers), request.body


def test_requests_are_the_same_bytes_as_the_librarys_own_client() -> None:
    with RawHttpServer(lambda request: CREATED if request.request_line.startswith("POST") else LISTED) as server:
        since = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)
        for http in (StockClient(server.url), BaseUrlHttpClient(server.url, timeout=5)):
            twilio = Client(SID, TOKEN, http_client=http)
            created = send(twilio)
            assert created.sid == MESSAGE["sid"] and created.body == BODY
            [listed] = twilio.messages.list(to=TO, date_sent_after=since, limit=5)
            assert listed.sid == MESSAGE["sid"]
    stock, ours = server.requests[:2], server.requests[2:]
    assert [comparable(request) for request in ours] == [comparable(request) for request in stock]
    post = ours[0]
    assert post.header("Authorization") == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert post.header("User-Agent").startswith("twilio-python/")
    assert parse_qs(post.body.decode())["Body"] == [BODY]
    assert "DateSent%3E=2026-03-02" in ours[1].request_line


def test_a_keep_alive_connection_is_reused_and_one_the_server_closed_is_replaced() -> None:
    with RawHttpServer(answering(CREATED)) as kept:
        twilio = client(kept.url)
        for _ in range(3):
            send(twilio)
    assert (kept.connections, len(kept.requests)) == (1, 3)
    with RawHttpServer(answering(CREATED), close_after_reply=True) as closing:
        twilio = client(closing.url)
        for _ in range(3):
            send(twilio)  # the closed idle connection is noticed before the next request goes out
            assert closing.closed.acquire(timeout=5)
    assert (closing.connections, len(closing.requests)) == (3, 3)


def test_refused_connection_is_transient_and_coded_connection() -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = sms_error(client(f"http://127.0.0.1:{port}"))
    assert (error.permanent, error.code) == (False, "connection")


def test_connect_timeout_is_transient_and_coded_connect_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # never accepted: once the queue holds one, new connections wait
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            error = sms_error(client(f"http://127.0.0.1:{port}", timeout=0.3))
    assert (error.permanent, error.code) == (False, "connect_timeout")


def test_read_timeout_after_the_request_arrived_is_coded_read_timeout_and_not_resent() -> None:
    with RawHttpServer(lambda request: None) as hanging:  # takes the request, never answers
        error = sms_error(client(hanging.url, timeout=0.3))
    assert (error.permanent, error.code) == (False, "read_timeout")
    # the provider has the message: only reconciliation may decide; the transport sent it once
    assert len(hanging.requests) == 1 and parse_qs(hanging.requests[0].body.decode())["To"] == [TO]


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 201 Created\r\nContent-Length: 400\r\nContent-Type: application/json\r\n\r\n{\"sid\": \"SM",
        b"HTTP/1.1 20",
        b"",
    ],
    ids=["mid-body", "mid-status-line", "no-answer"],
)
def test_connection_closed_mid_answer_is_transient_and_never_retried(reply: bytes) -> None:
    with RawHttpServer(lambda request: reply, close_after_reply=True) as closing:
        error = sms_error(client(closing.url))
    assert (error.permanent, error.code) == (False, "connection")
    assert (closing.connections, len(closing.requests)) == (1, 1)


@pytest.mark.parametrize("status", ["503 Service Unavailable", "307 Temporary Redirect"])
def test_an_error_or_redirect_answer_is_not_retried_or_followed(status: str) -> None:
    reply = http_reply(status, b'{"code": 20503, "message": "busy", "status": 503}',
                       headers={"Location": "/elsewhere", "Content-Type": "application/json"})
    with RawHttpServer(lambda request: reply) as server:
        with pytest.raises(Exception):  # noqa: B017, PT011 - the client's own TwilioRestException
            send(client(server.url))
    assert len(server.requests) == 1


def test_the_real_fake_sees_what_it_sees_from_the_library(fake_twilio: FakeTwilio) -> None:
    http = BaseUrlHttpClient(fake_twilio.base_url, timeout=5)
    twilio = Client(fake_twilio.account_sid, fake_twilio.auth_token, http_client=http)
    created = twilio.messages.create(to=TO, from_=fake_twilio.from_number, body=BODY)
    [received] = fake_twilio.messages
    assert (created.sid, received.to, received.body) == (received.sid, TO, BODY)
    assert twilio.messages(created.sid).fetch().body == BODY
    assert [found.sid for found in twilio.messages.list(to=TO)] == [created.sid]


def test_http_proxy_from_the_environment_gets_the_absolute_url_and_its_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with RawHttpServer(answering(CREATED)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://egress:pa%20ss@127.0.0.1:{proxy.port}")
        send(client("http://127.0.0.2:9"))  # nothing listens there: only the proxy can answer
    [request] = proxy.requests
    assert request.request_line.startswith("POST http://127.0.0.2:9/2010-04-01/Accounts/")
    assert request.header("Proxy-Authorization") == "Basic " + base64.b64encode(b"egress:pa ss").decode()


def test_no_proxy_bypasses_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with RawHttpServer(answering(CREATED)) as proxy, RawHttpServer(answering(CREATED)) as direct:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        send(client(direct.url))
    assert (len(proxy.requests), len(direct.requests)) == (0, 1)


def test_https_proxy_is_asked_for_a_tunnel_and_its_refusal_is_a_connection_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with RawHttpServer(lambda request: http_reply("403 Forbidden")) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        error = sms_error(client("https://127.0.0.2:9"))
    assert (error.permanent, error.code) == (False, "connection")
    assert [request.request_line.rsplit(" ", 1)[0] for request in proxy.requests] == ["CONNECT 127.0.0.2:9"]


@pytest.fixture
def self_signed(tmp_path: Path) -> Iterator[tuple[ssl.SSLContext, Path]]:
    """A server TLS context for 127.0.0.1 and the PEM of its (self-signed) certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = tmp_path / "cert.pem"
    cert_pem.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_pem = tmp_path / "key.pem"
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_pem, key_pem)
    yield context, cert_pem


def test_tls_is_verified_against_certifi_by_default(self_signed: tuple[ssl.SSLContext, Path]) -> None:
    context, _ = self_signed
    with RawHttpServer(answering(CREATED), tls=context) as server:
        error = sms_error(client(server.url))
    assert (error.permanent, error.code) == (False, "connection")
    assert "CERTIFICATE_VERIFY_FAILED" in str(error) and server.requests == []


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_tls_trusts_the_ca_bundle_named_in_the_environment(
    self_signed: tuple[ssl.SSLContext, Path], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    context, cert_pem = self_signed
    monkeypatch.setenv(variable, str(cert_pem))
    with RawHttpServer(answering(CREATED), tls=context) as server:
        assert send(client(server.url)).sid == MESSAGE["sid"]
    assert len(server.requests) == 1


def test_form_encoding_matches_requests_for_lists_none_and_unicode() -> None:
    fields = {"Body": BODY, "MediaUrl": ["https://a.example/1", "https://a.example/2"], "Skip": None, "N": 3}
    assert form_encoded(fields) == RequestEncodingMixin._encode_params(fields)


@given(st.dictionaries(st.text(min_size=1), st.one_of(st.none(), st.text(), st.lists(st.text()), st.integers())))
def test_form_encoding_matches_requests_for_any_text(fields: dict) -> None:
    assert form_encoded(fields) == RequestEncodingMixin._encode_params(fields)


def test_a_lookup_cut_off_mid_answer_is_not_retried_either() -> None:
    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 400\r\nContent-Type: application/json\r\n\r\n{\"messages\": ["
    with RawHttpServer(lambda request: cut, close_after_reply=True) as closing:
        with pytest.raises(SmsError) as caught:
            client(closing.url).messages.list(to=TO, limit=5)
    assert (caught.value.permanent, caught.value.code) == (False, "connection")
    assert (closing.connections, len(closing.requests)) == (1, 1)


def test_requests_are_logged_as_the_library_logs_them_only_when_asked(caplog: pytest.LogCaptureFixture) -> None:
    with RawHttpServer(lambda request: LISTED) as server:
        twilio = client(server.url)
        with caplog.at_level("INFO", logger="deadline_watch.sms.twilio_http"):
            twilio.messages.list(to=TO, limit=5)
        logged = [record.getMessage() for record in caplog.records]
        caplog.clear()
        twilio.messages.list(to=TO, limit=5)  # the logger stays at WARNING: recipients are not logged
    assert f"GET Request: {server.url}/2010-04-01/Accounts/{SID}/Messages.json?To=%2B8613800138000&PageSize=5" in logged
    assert "Response Status Code: 200" in logged and not any("Authorization" in line for line in logged)
    assert caplog.records == []
