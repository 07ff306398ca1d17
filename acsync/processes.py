"""Start, watch and stop the local stack's processes (sandboxes, gunicorn, Celery, Flower)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests


@dataclass
class ProcessGroup:
    log_dir: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, args: list[str], *, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Run ``args``; the program is looked up beside this interpreter first (an unactivated venv).

        ``env`` adds variables for this process only (a secret only it needs, like Flower's login)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        search = os.pathsep.join([str(Path(sys.executable).parent), self.env.get("PATH", "")])
        program = shutil.which(args[0], path=search)
        if program is None:
            raise RuntimeError(f"{args[0]} not found (is the project installed?)")
        args = [program, *args[1:]]
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the process's life
        process = subprocess.Popen(  # noqa: S603 - our own commands (acsync/commands.py)
            args,
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def python(self, name: str, module_args: list[str]) -> subprocess.Popen[bytes]:
        return self.start(name, [sys.executable, "-m", *module_args])

    def wait_http(self, name: str, url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited early; see {self.log_dir / (name + '.log')}")
            try:
                requests.get(url, timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer at {url}; see {self.log_dir / (name + '.log')}")

    def dead(self) -> list[str]:
        return [name for name, process in self.processes.items() if process.poll() is not None]

    def stop_all(self, timeout: float = 20.0) -> None:
        """SIGTERM everything (gunicorn and Celery finish in-flight work), SIGKILL what lingers."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
