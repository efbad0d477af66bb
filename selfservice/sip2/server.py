"""The SIP2 server: an asyncio TCP (optionally TLS) server for hundreds of
self-service machines in one process.

- Each connection is read by the event loop; messages end in CR (CR LF and a lone
  LF are accepted). A message longer than MAX_MESSAGE_BYTES, one that cannot be
  read (encoding, checksum, unknown command, truncated) is answered with 96 and
  touches nothing; its remainder is skipped up to the next terminator.
- Each message is handled by a bounded pool of worker threads (the Django
  services are synchronous), with the machine's library set on that thread's
  database connection for that call only (handlers.handle). Messages of one
  connection are handled one after another, in order.
- Timeouts: a machine must log in within `login_timeout`; a connection that says
  nothing for `idle_timeout` is closed; a message that does not end within
  `message_timeout` is answered with 96 and dropped; an answer the machine does not
  take within `write_timeout` closes the connection; TCP keepalive finds half-open
  connections whose other end vanished.
- A message repeated with the same sequence number (AY) is a retransmission (the
  machine missed the answer): it gets the same answer again and is not handled
  twice (no second loan or payment).
- Passwords and PINs (CO, AD, AC) are never logged; see protocol.redacted.
- With several processes (`processes`), the parent binds the socket and forks
  workers that accept on it (the kernel spreads the connections).
"""

import asyncio
import logging
import os
import re
import signal
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.db import connections

from . import handlers, protocol
from .protocol import MAX_MESSAGE_BYTES, MalformedMessage

log = logging.getLogger("lsb.sip2")

MAX_FAILED_LOGINS = 3


class DatabaseThreadPool(ThreadPoolExecutor):
    """A bounded pool of worker threads, each with its own database connection,
    which are closed when the pool shuts down."""

    def __init__(self, threads):
        super().__init__(max_workers=threads, thread_name_prefix="sip2-worker")
        self.threads = threads

    def close_connections(self, timeout=10):
        """Close the database connection of every worker thread (each closes its own)."""
        barrier = threading.Barrier(self.threads + 1)

        def close():
            connections.close_all()
            try:
                barrier.wait(timeout=timeout)
            except threading.BrokenBarrierError:
                pass

        for _ in range(self.threads):
            self.submit(close)
        try:
            barrier.wait(timeout=timeout)
        except threading.BrokenBarrierError:
            pass

    def shutdown(self, wait=True, *, cancel_futures=False):
        try:
            self.close_connections()
        finally:
            super().shutdown(wait=wait, cancel_futures=cancel_futures)


def ssl_context(certfile, keyfile):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile, keyfile)
    return context


def listening_socket(host, port, backlog=1024):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


def _keepalive(sock):
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 15), ("TCP_KEEPCNT", 4)):
            if hasattr(socket, name):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


class Sip2Server:
    def __init__(self, *, host="127.0.0.1", port=6001, sock=None, ssl=None, threads=8, idle_timeout=600,
                 login_timeout=60, message_timeout=30, write_timeout=30, max_connections=2000,
                 encoding="utf-8"):
        self.host, self.port, self.sock = host, port, sock
        self.ssl = ssl
        self.threads = threads
        self.idle_timeout = idle_timeout
        self.login_timeout = login_timeout
        self.message_timeout = message_timeout
        self.write_timeout = write_timeout
        self.max_connections = max_connections
        self.encoding = encoding
        self.executor = None
        self.server = None
        self.connections = set()
        self.stats = {"connections": 0, "messages": 0, "malformed": 0, "errors": 0}
        self._stopping = None

    # --- life cycle ---------------------------------------------------------------------

    async def start(self):
        self.executor = DatabaseThreadPool(self.threads)
        self._stopping = asyncio.Event()
        options = {"ssl": self.ssl, "backlog": 1024}
        if self.ssl is not None:
            options["ssl_handshake_timeout"] = 15
        if self.sock is not None:
            self.server = await asyncio.start_server(self._client, sock=self.sock, **options)
        else:
            self.server = await asyncio.start_server(self._client, self.host, self.port, reuse_address=True,
                                                     **options)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def serve(self, ready=None):
        """Run until stop() is called."""
        await self.start()
        if ready is not None:
            ready(self)
        try:
            await self._stopping.wait()
        finally:
            await self._shutdown()

    def stop(self):
        if self._stopping is not None:
            self._stopping.set()

    async def _shutdown(self):
        self.server.close()
        for task in list(self.connections):
            task.cancel()
        if self.connections:
            await asyncio.gather(*self.connections, return_exceptions=True)
        await self.server.wait_closed()
        await asyncio.get_running_loop().run_in_executor(None, self.executor.shutdown)

    # --- one connection -------------------------------------------------------------------

    async def _client(self, reader, writer):
        task = asyncio.current_task()
        peer = writer.get_extra_info("peername")
        peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        if len(self.connections) >= self.max_connections:
            log.warning("SIP2: refusing %s, %s connections open", peer, len(self.connections))
            writer.close()
            return
        self.connections.add(task)
        self.stats["connections"] += 1
        _keepalive(writer.get_extra_info("socket"))
        session = handlers.Session(peer=peer)
        try:
            await self._conversation(session, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError) as error:
            log.info("SIP2 connection %s ended: %s", peer, type(error).__name__)
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001 - one connection's failure never stops the server
            self.stats["errors"] += 1
            log.exception("SIP2 connection %s failed", peer)
        finally:
            self.connections.discard(task)
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), timeout=5)
            except Exception:  # noqa: BLE001
                pass
            log.debug("SIP2 connection %s closed", peer)

    async def _conversation(self, session, reader, writer):
        buffer = bytearray()
        skipping = False  # the rest of an oversized message, up to its terminator
        last_response = None
        last_frame = None
        started = time.monotonic()
        while True:
            if not session.logged_in:
                timeout = self.login_timeout - (time.monotonic() - started)
                if timeout <= 0:
                    log.info("SIP2 %s did not log in in time", session.peer)
                    return
            else:
                timeout = self.idle_timeout
            if buffer:
                timeout = min(timeout, self.message_timeout)
            try:
                chunk = await asyncio.wait_for(reader.read(4096), timeout=timeout)
            except asyncio.TimeoutError:
                if buffer or skipping:
                    # A message that never ended: ask for it again and forget the part.
                    buffer.clear()
                    skipping = False
                    self.stats["malformed"] += 1
                    await self._send(writer, protocol.resend_request())
                    continue
                log.info("SIP2 %s idle, closing", session.peer)
                return
            if not chunk:
                return
            buffer += chunk
            while True:
                end = _terminator(buffer)
                if end < 0:
                    if len(buffer) > MAX_MESSAGE_BYTES:
                        buffer.clear()
                        if not skipping:
                            skipping = True
                            self.stats["malformed"] += 1
                            log.warning("SIP2 %s: message longer than %s bytes", session.peer, MAX_MESSAGE_BYTES)
                            await self._send(writer, protocol.resend_request())
                    break
                frame = bytes(buffer[:end])
                del buffer[:end + 1]
                if skipping:
                    skipping = False
                    continue
                if not frame:
                    continue  # the LF of CR LF, or an empty line
                if frame == last_frame and last_response is not None and _sequenced(frame):
                    # The same message with the same sequence number again: the machine did
                    # not get the answer. Send it again rather than lend or pay twice.
                    await self._send(writer, last_response)
                    continue
                response, close = await self._answer(session, frame, last_response)
                if response is not None:
                    await self._send(writer, response)
                    if not response.startswith(b"96"):
                        last_response, last_frame = response, frame
                if close:
                    return

    async def _answer(self, session, frame, last_response):
        """(response bytes, close afterwards?) for one message."""
        self.stats["messages"] += 1
        try:
            request = protocol.parse(frame, encoding=self.encoding)
        except MalformedMessage as error:
            self.stats["malformed"] += 1
            log.info("SIP2 %s: unreadable message (%s): %s", session.peer, error, protocol.redacted(frame[:80]))
            return protocol.resend_request(checksummed=b"AZ" in frame[-8:]), False
        if request.code == "97":
            return (last_response or protocol.resend_request(checksummed=request.checksummed)), False
        loop = asyncio.get_running_loop()
        try:
            response = await loop.run_in_executor(self.executor, handlers.handle, session, request)
        except handlers.CloseConnection as closing:
            return closing.response, True
        except Exception:  # noqa: BLE001 - e.g. the database is down: the machine may try again
            self.stats["errors"] += 1
            log.exception("SIP2 %s: message %s failed", session.peer, request.code)
            return handlers.negative(request, session), False
        close = request.code == "93" and not session.logged_in and session.failed_logins >= MAX_FAILED_LOGINS
        return response, close

    async def _send(self, writer, data):
        writer.write(data)
        await asyncio.wait_for(writer.drain(), timeout=self.write_timeout)


_SEQUENCED = re.compile(rb"AY[0-9]AZ[0-9A-Fa-f]{4}$")


def _sequenced(frame):
    """Does the message carry a sequence number (and checksum)? Only then is an
    identical message a retransmission rather than a new request."""
    return _SEQUENCED.search(frame) is not None and not frame.startswith((b"97", b"99", b"93"))


def _terminator(buffer):
    """Index of the first CR or LF, or -1."""
    cr = buffer.find(b"\r")
    lf = buffer.find(b"\n")
    if cr < 0:
        return lf
    if lf < 0:
        return cr
    return min(cr, lf)


# --- running it ------------------------------------------------------------------------------

class ServerThread:
    """The server on an event loop in a thread of this process (tests, benchmarks):
    `port` once started, `stop()` to end it."""

    def __init__(self, **options):
        self.server = Sip2Server(**options)
        self._ready = threading.Event()
        self._loop = None
        self.thread = threading.Thread(target=self._run, name="sip2-server", daemon=True)

    def _run(self):
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.server.serve(ready=lambda server: self._ready.set()))
        finally:
            self._loop.close()
            self._ready.set()

    def start(self, timeout=10):
        self.thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the SIP2 server did not start")
        return self

    @property
    def port(self):
        return self.server.port

    @property
    def alive(self):
        return self.thread.is_alive()

    def stop(self, timeout=20):
        if self._loop is not None and self.thread.is_alive():
            self._loop.call_soon_threadsafe(self.server.stop)
        self.thread.join(timeout)


def serve_forever(*, host, port, processes=1, announce=print, **options):
    """Run the server until SIGTERM/SIGINT: one process, or `processes` forked
    workers sharing one listening socket (the parent restarts a worker that dies)."""
    sock = listening_socket(host, port)
    port = sock.getsockname()[1]
    connections.close_all()  # nothing of the parent's database connection may cross a fork
    announce(f"SIP2 server listening on {host}:{port} ({'TLS' if options.get('ssl') else 'plain TCP'}, "
             f"{processes} process{'es' if processes != 1 else ''}, {options.get('threads', 8)} worker threads each)")
    if processes <= 1:
        _serve_in_process(sock, options)
        return
    children = {}

    def spawn():
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            code = 0
            try:
                _serve_in_process(sock, options)
            except BaseException:  # noqa: BLE001
                log.exception("SIP2 worker failed")
                code = 1
            finally:
                os._exit(code)
        children[pid] = time.monotonic()

    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for _ in range(processes):
        spawn()
    while children:
        try:
            pid, _status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        started = children.pop(pid, None)
        if not stopping and started is not None:
            log.error("SIP2 worker %s stopped; starting another", pid)
            if time.monotonic() - started < 1:
                time.sleep(1)  # a worker that dies at once: do not spin
            spawn()


def _serve_in_process(sock, options):
    server = Sip2Server(sock=sock, **options)

    async def main():
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, server.stop)
            except (NotImplementedError, RuntimeError):
                pass
        await server.serve()

    asyncio.run(main())
