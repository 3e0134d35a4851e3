"""A real VictoriaMetrics for tests (Debian package ``victoria-metrics``).

A plain helper, not a fixture: tests/conftest.py wires it. The server binds
127.0.0.1 on the port it is given and keeps its data in the folder it is given,
so a test can stop it and start it again on the same port with the same data.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_STARTUP_TIMEOUT_S = 30.0
# The project's test data includes fixed timestamps from 2025; the default retention
# (one month) would silently drop them. A century keeps everything a test writes.
_RETENTION = "100y"


class VictoriaUnavailable(RuntimeError):
    """The victoria-metrics binary is missing or did not come up."""


def victoria_binary() -> str:
    found = shutil.which("victoria-metrics") or (
        "/usr/bin/victoria-metrics" if Path("/usr/bin/victoria-metrics").exists() else None
    )
    if found is None:
        raise VictoriaUnavailable(
            "victoria-metrics is not installed: expected it on PATH or at "
            "/usr/bin/victoria-metrics "
            "(apt-get install victoria-metrics; scripts/test.sh installs it)"
        )
    return found


class VictoriaMetricsServer:
    """One single-node VictoriaMetrics process; ``start()`` and ``stop()`` may repeat."""

    def __init__(self, port: int, data_dir: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.port = port
        self.data_dir = data_dir
        self.extra_args = extra_args
        self.url = f"http://127.0.0.1:{port}"
        self.log = data_dir.parent / f"{data_dir.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError(f"VictoriaMetrics on {self.url} is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log_file:
            self._proc = subprocess.Popen(
                [
                    victoria_binary(),
                    f"-httpListenAddr=127.0.0.1:{self.port}",
                    f"-storageDataPath={self.data_dir}",
                    f"-retentionPeriod={_RETENTION}",
                    "-loggerLevel=WARN",
                    *self.extra_args,
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise VictoriaUnavailable(
                    f"victoria-metrics exited with code {self._proc.returncode} before serving "
                    f"{self.url}: {self.log.read_text(errors='replace')[-2000:]}"
                )
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=0.5) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)
        raise VictoriaUnavailable(
            f"victoria-metrics did not answer {self.url}/health within {_STARTUP_TIMEOUT_S} s"
        )

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: what is only in memory is lost."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop gracefully (VictoriaMetrics flushes its buffers on SIGTERM)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def run_victoria_metrics(
    port: int, data_dir: Path, extra_args: tuple[str, ...] = ()
) -> Iterator[VictoriaMetricsServer]:
    """Start VictoriaMetrics on 127.0.0.1:port with its data in data_dir; stop it on exit."""
    server = VictoriaMetricsServer(port, data_dir, extra_args)
    server.start()
    try:
        yield server
    finally:
        server.stop()
