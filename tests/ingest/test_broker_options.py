"""Broker options a real deployment needs, each against a real mosquitto: MQTT 5 with a
session that outlives a restart, and TLS with a username and password."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from brokers import free_port, run_mosquitto
from ingest_testkit import NOW, RecordingSink, eventually, make_registry

from app.site import SiteConfig
from ingest.decode import ReadingDecoder
from ingest.historystores.memory import MemoryHistoryStore
from ingest.subscriber import MqttIngestor
from lifesign.clock import ManualClock
from lifesign.mqttclient import (
    BrokerRefusedError,
    BrokerSettings,
    TlsSettings,
    connect,
    make_client,
)
from lifesign.wire import readings_topic

pytestmark = pytest.mark.mosquitto


def reading(ts: float) -> bytes:
    return orjson.dumps({"meter": "W-0001", "ts": ts, "value": 1.0})


def publish(broker: BrokerSettings, payloads: list[bytes]) -> None:
    client = make_client(broker, "options-gateway")
    connect(client, broker)
    client.loop_start()
    try:
        for payload in payloads:
            info = client.publish(readings_topic("GW-A"), payload, qos=1)
            info.wait_for_publish(10)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def ingest(broker: BrokerSettings, store: MemoryHistoryStore) -> MqttIngestor:
    ingestor = MqttIngestor(broker, ReadingDecoder(make_registry()), store, [RecordingSink()], ManualClock(NOW))
    ingestor.start()
    return ingestor


def test_mqtt5_persistent_session_keeps_what_arrived_while_ingest_was_down(mosquitto_port: int) -> None:
    broker = BrokerSettings(port=mosquitto_port, client_id="ingest-v5", protocol="5", session_expiry_s=600)
    store = MemoryHistoryStore()
    first = ingest(broker, store)
    assert first.wait_subscribed(60)
    publish(broker, [reading(NOW - 900)])
    eventually(lambda: store.count() == 1, "the first reading over MQTT 5")
    first.stop()
    publish(broker, [reading(NOW - 600), reading(NOW - 300)])  # queued in our session meanwhile
    second = ingest(broker, store)
    try:
        eventually(lambda: store.count() == 3, "the readings queued while ingest was down")
        assert second.counters.duplicates == 0
    finally:
        second.stop()


@pytest.fixture
def secure_broker(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """mosquitto with TLS (a throwaway CA) and a password file; no anonymous access."""
    ca_key, ca, key, csr, cert = (tmp_path / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt"))
    run = lambda *args: subprocess.run(args, check=True, capture_output=True, timeout=60)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
        "-subj", "/CN=lifesign test CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    (tmp_path / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
        "-days", "2", "-extfile", tmp_path / "san.ext")
    passwords = tmp_path / "passwords"
    run("mosquitto_passwd", "-b", "-c", passwords, "ingest", "s3cret")
    port = free_port()

    def secure(text: str) -> str:
        text = text.replace("allow_anonymous true", f"allow_anonymous false\npassword_file {passwords}")
        return text.replace(f"listener {port} 127.0.0.1",
                            f"listener {port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}")

    with run_mosquitto(port, tmp_path / "broker", secure):
        yield port, ca


def test_tls_with_username_and_password(secure_broker: tuple[int, Path], tmp_path: Path) -> None:
    port, ca = secure_broker
    site = SiteConfig.parse(
        f"""
broker:
  port: {port}
  client_id: ingest-tls
  username: ingest
  password: s3cret
  tls: {{ca_file: {ca}}}
registry: {{households: h.csv, meters: m.csv}}
roster: roster.yaml
thresholds: thresholds.yaml
data_dir: var
""", tmp_path)
    assert site.broker.tls == TlsSettings(ca_file=ca)
    store = MemoryHistoryStore()
    ingestor = ingest(site.broker, store)
    try:
        assert ingestor.wait_subscribed(60)
        publish(site.broker, [reading(NOW - 60)])
        eventually(lambda: store.count() == 1, "a reading over TLS")
    finally:
        ingestor.stop()

    wrong = BrokerSettings(port=port, client_id="ingest-tls-wrong", username="ingest", password="guess",
                           tls=TlsSettings(ca_file=ca))
    # the broker refuses the password: start() says so, with the broker's reason, and runs nothing
    with pytest.raises(BrokerRefusedError, match="refused the connection of client id 'ingest-tls-wrong' "
                                                 r"\(user 'ingest'\): Not authorized"):
        ingest(wrong, MemoryHistoryStore())
    # a CA that did not sign the broker's certificate: the error names the TLS check that failed
    other_ca = tmp_path / "other-ca"
    other_ca.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other",
                    "-keyout", str(other_ca / "ca.key"), "-out", str(other_ca / "ca.crt")],
                   check=True, capture_output=True)
    untrusted = BrokerSettings(port=port, client_id="ingest-tls-ca", username="ingest", password="s3cret",
                               tls=TlsSettings(ca_file=other_ca / "ca.crt"))
    with pytest.raises(ConnectionError, match="TLS to broker 127.0.0.1:.* failed: the broker's certificate was not "
                                              "accepted .*(unable to get local issuer|self.signed)"):
        ingest(untrusted, MemoryHistoryStore())
    # the right CA, but a host name the certificate does not carry (it names IP 127.0.0.1 only)
    misnamed = BrokerSettings(host="localhost", port=port, client_id="ingest-tls-name", username="ingest",
                              password="s3cret", tls=TlsSettings(ca_file=ca))
    with pytest.raises(ConnectionError, match="TLS to broker localhost:.* failed: .*[Hh]ostname mismatch"):
        ingest(misnamed, MemoryHistoryStore())
    # a client without TLS never gets a CONNACK from the TLS listener
    plain = make_client(BrokerSettings(port=port), "no-tls")
    connected = []
    plain.on_connect = lambda *args: connected.append(args)
    try:
        connect(plain, BrokerSettings(port=port))
        plain.loop_start()
        with pytest.raises(AssertionError):
            eventually(lambda: bool(connected), "a plain connection accepted", timeout=2)
    except OSError:
        pass  # refused outright: as good
    finally:
        plain.loop_stop()
