"""paho clients built from :class:`BrokerSettings`: one place for the protocol version,
persistent sessions, credentials and TLS, used by ingest, the dispatch publisher and
the simulators alike. The settings live here, not in the app's site config, because
ingest builds its own client from them."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


@dataclass(frozen=True)
class TlsSettings:
    #: CA bundle that signed the broker's certificate (None: the system's CAs)
    ca_file: Path | None = None
    #: client certificate and key, for brokers that require them
    cert_file: Path | None = None
    key_file: Path | None = None
    #: skip the host-name check (a test broker's self-signed certificate); never in production
    insecure: bool = False


@dataclass(frozen=True)
class BrokerSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "lifesign-ingest"
    keepalive_s: int = 30
    username: str | None = None
    password: str | None = None
    #: "3.1.1" (default: paho receives about twice as fast) or "5"
    protocol: str = "3.1.1"
    #: MQTT 5 only: how long the broker keeps our session (and unacked messages) while we are away
    session_expiry_s: int = 7 * 86400
    tls: TlsSettings | None = None


def make_client(broker: BrokerSettings, client_id: str, *, persistent: bool = False,
                manual_ack: bool = False) -> mqtt.Client:
    """A configured, not yet connected client.

    ``persistent``: the broker keeps our subscriptions and unacked QoS 1 messages
    while we are away (MQTT 3.1.1 clean_session=False; MQTT 5 clean_start=False
    with a session expiry), so a restart loses nothing.
    """
    if broker.protocol == "5":
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                             manual_ack=manual_ack)
    else:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not persistent,
                             protocol=mqtt.MQTTv311, manual_ack=manual_ack)
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls is not None:
        tls = broker.tls
        client.tls_set(
            ca_certs=str(tls.ca_file) if tls.ca_file else None,
            certfile=str(tls.cert_file) if tls.cert_file else None,
            keyfile=str(tls.key_file) if tls.key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
        client.tls_insecure_set(tls.insecure)
    # Reconnect with backoff, 1 s doubling to 30 s; paho's loop thread does it.
    client.reconnect_delay_set(1, 30)
    return client


def connect(client: mqtt.Client, broker: BrokerSettings, *, persistent: bool = False) -> None:
    """Connect (raises OSError when the broker is unreachable)."""
    if broker.protocol == "5":
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = broker.session_expiry_s if persistent else 0
        client.connect(broker.host, broker.port, keepalive=broker.keepalive_s,
                       clean_start=not persistent, properties=properties)
    else:
        client.connect(broker.host, broker.port, keepalive=broker.keepalive_s)
