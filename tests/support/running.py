"""`lifesign run` as a real process for tests: started, its merged output collected."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

LIFESIGN = str(Path(sys.executable).with_name("lifesign"))


class RunningService:
    """`lifesign run -c site` in a subprocess, its merged output collected line by line."""

    def __init__(self, site: Path, *options: str) -> None:
        """``options``: more `lifesign run` options (``--partition``, ``--data-dir``)."""
        self.proc = subprocess.Popen([LIFESIGN, "run", "-c", str(site), *options], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: list[str] = []
        #: when each line arrived (time.monotonic() of the test process), beside ``lines``
        self.arrived: list[float] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.arrived.append(time.monotonic())
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def first_line(self, containing: str) -> tuple[float, str] | None:
        """(when it arrived, the line) of the first output line containing the text."""
        for at, line in zip(list(self.arrived), list(self.lines)):
            if containing in line:
                return at, line
        return None

    def stop(self) -> int:
        """SIGTERM, as an init system would; the exit code (killed if it does not stop)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=10)
        self._reader.join(timeout=10)
        return code
