"""Start a PgBouncer (Debian's package) for a benchmark: a generated configuration in
a temporary folder, a free port, the given pool mode and size, in front of the
PostgreSQL of DATABASE_URL. Used by bench/circulation.py --pgbouncer."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def binary():
    found = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
    if found is None:
        raise RuntimeError("PgBouncer is not installed: apt-get install pgbouncer")
    return found


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PgBouncer:
    def __init__(self, *, host, port, user, password="", pool_mode="transaction", pool_size=4):
        self.folder = Path(tempfile.mkdtemp(prefix="lsb-bench-pgbouncer-"))
        self.port = _free_port()
        (self.folder / "users.txt").write_text(f'"{user}" "{password}"\n')
        (self.folder / "pgbouncer.ini").write_text(f"""[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.folder}/users.txt
pool_mode = {pool_mode}
default_pool_size = {pool_size}
max_db_connections = {pool_size}
reserve_pool_size = 0
max_client_conn = 500
server_reset_query = DISCARD ALL
logfile = {self.folder}/pgbouncer.log
pidfile = {self.folder}/pgbouncer.pid
""")
        os.chmod(self.folder, 0o777)
        for path in self.folder.iterdir():
            os.chmod(path, 0o666)
        command = [binary()] + (["-u", "postgres"] if os.geteuid() == 0 else [])  # it refuses to run as root
        self.process = subprocess.Popen(command + [str(self.folder / "pgbouncer.ini")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"PgBouncer did not start; see {self.folder}/pgbouncer.log")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)
