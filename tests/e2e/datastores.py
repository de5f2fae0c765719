"""Real datastores for the end-to-end tests: Debian's redis-server and PostgreSQL, each on
a free port of 127.0.0.1 with its files in a temporary folder, gone when stopped.

PostgreSQL refuses to run as root; as root the cluster belongs to the `postgres` user the
Debian package creates, and its programs run through runuser."""

import glob
import os
import shutil
import subprocess
import tempfile
import time

from harness import free_port, stop_process


def _wait_until(ready, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {timeout} s")


class RedisServer:
    """redis-server without persistence on a free port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="faultline-redis-")
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--logfile", os.path.join(self.dir, "log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "ping"],
                               capture_output=True, text=True)
            return r.stdout.strip() == "PONG"

        _wait_until(ready, "redis-server")

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def _pg_bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    return os.path.dirname(found[-1])


class PostgresServer:
    """A throw-away PostgreSQL cluster (trust authentication, no fsync) on a free port."""

    def __init__(self):
        self.bindir = _pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="faultline-pg-")
        self.as_user = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        self.data = data = os.path.join(self.dir, "data")
        subprocess.run(self.as_user + [os.path.join(self.bindir, "initdb"), "-D", data, "-A",
                                       "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.log = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            self.as_user + [os.path.join(self.bindir, "postgres"), "-D", data, "-h", "127.0.0.1",
                            "-p", str(self.port), "-k", self.dir, "-c", "fsync=off",
                            "-c", "max_connections=40"],
            stdout=self.log, stderr=subprocess.STDOUT)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}")
            r = subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                               capture_output=True)
            return r.returncode == 0

        _wait_until(ready, "postgres")

    def stop(self):
        if self.proc.poll() is None:
            subprocess.run(self.as_user + [os.path.join(self.bindir, "pg_ctl"), "-D", self.data,
                                           "-m", "fast", "-w", "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stop_process(self.proc, 20)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
