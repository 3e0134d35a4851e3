"""Real MQTT brokers for tests: mosquitto from configs/mosquitto.conf, or the embedded amqtt.

Plain helpers, not fixtures: tests/conftest.py wires them. Each one binds to
127.0.0.1 on the port it is given and stops its broker on exit.
"""

from __future__ import annotations

import getpass
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from app.embedded_broker import EmbeddedBroker

REPO_ROOT = Path(__file__).resolve().parents[2]
MOSQUITTO_CONF = REPO_ROOT / "configs" / "mosquitto.conf"
_STARTUP_TIMEOUT_S = 30.0


class BrokerUnavailable(RuntimeError):
    """The broker binary is missing or did not come up."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found is None:
        raise BrokerUnavailable(
            "mosquitto is not installed: expected it on PATH or at /usr/sbin/mosquitto "
            "(apt-get install mosquitto; .ci/run installs it)"
        )
    return found


def mosquitto_config(port: int, tmp_dir: Path) -> str:
    """configs/mosquitto.conf with the listener on 127.0.0.1:port and persistence in tmp_dir."""
    text = MOSQUITTO_CONF.read_text()
    text, listeners = re.subn(r"(?m)^listener\s+\d+.*$", f"listener {port} 127.0.0.1", text)
    text, locations = re.subn(
        r"(?m)^persistence_location\s+.*$", f"persistence_location {tmp_dir}/", text
    )
    if listeners != 1 or locations != 1:
        raise ValueError(
            f"{MOSQUITTO_CONF}: expected one 'listener' line and one 'persistence_location' line, "
            f"got {listeners} and {locations}"
        )
    # Started as root, mosquitto drops to the 'mosquitto' user, which cannot write tmp_dir.
    return text + f"\nuser {getpass.getuser()}\n"


def _wait_accepting(port: int, proc: subprocess.Popen[bytes] | None, log: Path | None) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            detail = log.read_text(errors="replace") if log is not None and log.exists() else ""
            raise BrokerUnavailable(
                f"mosquitto exited with code {proc.returncode} before accepting on port {port}: {detail}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise BrokerUnavailable(
        f"mosquitto did not accept connections on 127.0.0.1:{port} within {_STARTUP_TIMEOUT_S} s"
    )


@contextmanager
def run_mosquitto(port: int, tmp_dir: Path, edit: Callable[[str], str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Start mosquitto on 127.0.0.1:port with the project's config; stop it on exit.

    ``edit`` changes the config text first (TLS, passwords). The broker's log goes
    to ``tmp_dir/mosquitto.log`` (shown if it fails to start).
    """
    binary = mosquitto_binary()
    tmp_dir.mkdir(parents=True, exist_ok=True)
    conf = tmp_dir / "mosquitto.conf"
    text = mosquitto_config(port, tmp_dir)
    conf.write_text(edit(text) if edit is not None else text)
    with _mosquitto_process(binary, conf, (port,)) as proc:
        yield proc


@contextmanager
def _mosquitto_process(binary: str, conf: Path, ports: tuple[int, ...]) -> Iterator[subprocess.Popen[bytes]]:
    """mosquitto -c conf, its log beside the config, until every port accepts; stopped on exit."""
    log = conf.parent / "mosquitto.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        for port in ports:
            _wait_accepting(port, proc, log)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def run_embedded_broker(port: int) -> Iterator[EmbeddedBroker]:
    """Start the embedded amqtt broker on 127.0.0.1:port; stop it on exit."""
    broker = EmbeddedBroker("127.0.0.1", port)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


MOSQUITTO_ACL_CONF = REPO_ROOT / "configs" / "mosquitto-acl.conf"
MOSQUITTO_ACL = REPO_ROOT / "configs" / "mosquitto.acl"


@contextmanager
def run_mosquitto_acl(service_port: int, clients_port: int, tmp_dir: Path, service_users: dict[str, str],
                      client_users: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """mosquitto from the shipped configs/mosquitto-acl.conf and configs/mosquitto.acl, on
    two 127.0.0.1 ports, with password files made for the given users. Only ports, paths
    and the network listener's TLS files are changed (TLS has its own test)."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, users in (("service", service_users), ("clients", client_users)):
        path = tmp_dir / f"{name}.passwd"
        path.touch()
        for user, password in users.items():
            subprocess.run(["mosquitto_passwd", "-b", str(path), user, password], check=True, capture_output=True)
        files[name] = path
    text = MOSQUITTO_ACL_CONF.read_text()
    replacements = [
        (r"(?m)^listener 1883 127\.0\.0\.1$", f"listener {service_port} 127.0.0.1"),
        (r"(?m)^listener 8883$", f"listener {clients_port} 127.0.0.1"),
        (r"(?m)^password_file .*lifesign-service\.passwd$", f"password_file {files['service']}"),
        (r"(?m)^password_file .*lifesign-clients\.passwd$", f"password_file {files['clients']}"),
        (r"(?m)^acl_file .*$", f"acl_file {MOSQUITTO_ACL}"),
        (r"(?m)^(certfile|keyfile) .*$", ""),
        (r"(?m)^persistence_location\s+.*$", f"persistence_location {tmp_dir}/"),
    ]
    for pattern, replacement in replacements:
        text, n = re.subn(pattern, replacement, text)
        if n == 0:
            raise ValueError(f"{MOSQUITTO_ACL_CONF}: no line matches {pattern!r}")
    conf = tmp_dir / "mosquitto.conf"
    conf.write_text(text + f"\nuser {getpass.getuser()}\n")
    with _mosquitto_process(mosquitto_binary(), conf, (service_port, clients_port)) as proc:
        yield proc
