"""paho clients built from :class:`BrokerSettings`: one place for the protocol version,
persistent sessions, credentials and TLS, used by ingest, the dispatch publisher and
the simulators alike. The settings live here, not in the app's site config, because
ingest builds its own client from them."""

from __future__ import annotations

import ssl
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


class BrokerRefusedError(ConnectionRefusedError):
    """The broker answered our CONNECT with a refusal (bad user name or password, not
    authorised, client id refused): retrying with the same settings cannot help."""


def connect_and_wait(client: mqtt.Client, broker: BrokerSettings, *, persistent: bool = False,
                     timeout: float = 10.0) -> None:
    """Connect, start paho's network thread and wait for the broker's CONNACK.

    Raises ConnectionError naming the cause: unreachable, a TLS failure (which check
    failed), no CONNACK in time, or :class:`BrokerRefusedError` with the broker's reason.
    The client's own ``on_connect`` still runs for this and every later connection.
    """
    answered = threading.Event()
    reasons: list[Any] = []
    own = client.on_connect

    def on_connect(c: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if not answered.is_set():
            reasons.append(reason_code)
            answered.set()
        if own is not None:
            # paho types on_connect as the union of its v1 (4 arguments) and v2 callbacks; ours are v2
            own(c, userdata, flags, reason_code, properties)  # type: ignore[call-arg]

    client.on_connect = on_connect
    where = f"broker {broker.host}:{broker.port}"
    try:
        connect(client, broker, persistent=persistent)
    except ssl.SSLCertVerificationError as exc:  # also a ValueError: name it before the CLI sees "1"
        raise ConnectionError(
            f"TLS to {where} failed: the broker's certificate was not accepted ({exc.verify_message}); "
            "check broker.tls.ca_file and that broker.host is a name the certificate carries") from exc
    except ssl.SSLError as exc:
        raise ConnectionError(f"TLS handshake with {where} failed: {exc.reason or exc}") from exc
    except OSError as exc:
        raise ConnectionError(f"{where} does not accept MQTT connections: {exc}") from exc
    client.loop_start()
    if not answered.wait(timeout):
        client.loop_stop()
        client.disconnect()
        raise ConnectionError(f"{where} accepted the connection but sent no CONNACK within {timeout:g} s "
                              "(TLS on one side only?)")
    reason = reasons[0]
    if reason.is_failure:
        client.loop_stop()
        client.disconnect()
        who = f"user {broker.username!r}" if broker.username else "no user name"
        raise BrokerRefusedError(f"{where} refused the connection of client id {_client_id(client)!r} "
                                 f"({who}): {reason}")


#: a PUBACK's fixed header (type 4, remaining length 2) above its 16-bit message id, as one
#: big-endian word: MQTT 3.1.1, and MQTT 5's success without properties
_PUBACK_WORD = 0x4002_0000
_PUBACK = 0x40


def ack_qos1(client: mqtt.Client, mids: Sequence[int]) -> None:
    """Acknowledge QoS 1 messages received with ``manual_ack``: every PUBACK in one write.

    paho's ``ack()`` queues one packet per message and wakes its network thread for
    each (a write to its socket pair); for a thousand one-reading messages those acks
    cost more than decoding and storing them. These are exactly the PUBACKs ``ack()``
    would send, queued as one packet on paho's own outgoing queue, from any thread as
    ``ack()`` is. That queue is paho 2's internal ``_packet_queue`` (pyproject keeps
    paho below 3); tests/lifesign/test_mqtt_acks.py holds it to a real mosquitto.
    """
    if mids:
        packet = struct.pack(f"!{len(mids)}I", *[_PUBACK_WORD | mid for mid in mids])
        client._packet_queue(_PUBACK, packet, 0, 0)


def _client_id(client: mqtt.Client) -> str:
    raw = getattr(client, "_client_id", b"")  # paho has no public accessor
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
