"""The shard service of the cluster host: shard jobs hand their shard to the host over a local
socket instead of becoming Dask clients themselves.

A shard job that finds its run's host asks it to run the shard (:func:`request_shard`); the host
runs :func:`netsense.pipeline.shard.run_shard` with its own Client in a thread per request and
streams the shard's log lines back, then the summary or the error. The job then needs neither
numpy nor distributed: a job costs a Python start, not the ~1 CPU-s of importing distributed and
connecting, which on a small machine is taken from the workers. The result is the same shard
file: the same blocks, the same block cache, the same shard layer.

Protocol: one request per connection, newline-delimited JSON. Request ``{"params", "out",
"cache_dir"}`` (absolute paths); replies ``{"log": line}`` ..., then ``{"done": summary}`` or
``{"error": message, "type": name, ...}``: an input or corrupt-file error comes back as the same
error, anything else as a RuntimeError naming its type (its traceback goes to the host's log).
A requester that goes away (its job killed, or stopped by Ctrl-C) has its blocks cancelled at
once; when the host stops, the blocks of every request still running are cancelled and each
requester told so in one line, before the cluster closes (no task is left to fail). The socket
is created with mode 0600 (the run's user only); if it cannot be, the host serves no shards and
the jobs run theirs as Dask clients.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import socketserver
import sys
import tempfile
import threading
import traceback
from pathlib import Path

from ...errors import CorruptFileError, InputError

SOCKET_NAME = "shards.sock"
# AF_UNIX paths hold about 107 bytes; deeper run directories get a socket in the temp directory
MAX_SOCKET_PATH = 100


def socket_path(dask_dir) -> str:
    """Where the host of ``dask_dir`` listens: beside its scheduler file, or a short temp path."""
    p = Path(dask_dir).resolve() / SOCKET_NAME
    if len(str(p)) <= MAX_SOCKET_PATH:
        return str(p)
    digest = hashlib.sha256(str(p).encode()).hexdigest()[:16]
    return str(Path(tempfile.gettempdir()) / f"netsense-{os.getuid()}-{digest}.sock")


class _LineLog:
    """A file-like log that sends each line to the requester."""

    def __init__(self, wfile):
        self.wfile = wfile
        self.buf = ""

    def write(self, text: str) -> int:
        self.buf += text
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            _send(self.wfile, {"log": line})
        return len(text)

    def flush(self):
        if self.buf:
            _send(self.wfile, {"log": self.buf})
            self.buf = ""


def _send(wfile, msg: dict) -> None:
    wfile.write((json.dumps(msg) + "\n").encode())
    wfile.flush()


class _Request:
    """One request's use of the host's Client: its futures, to cancel them when the requester
    goes away or the host stops. :func:`~netsense.pipeline.shard.run_shard` only submits."""

    def __init__(self, client):
        self.client = client
        self.futures = []
        self.cancelled = False
        self.finished = False  # answered: its requester's leaving then cancels nothing
        self.lock = threading.Lock()

    def submit(self, *args, **kwargs):
        fut = self.client.submit(*args, **kwargs)
        with self.lock:
            self.futures.append(fut)
            late = self.cancelled
        if late:
            self.cancel()
        return fut

    def cancel(self) -> None:
        # Only blocks not done: the request's own thread may be gathering a done one, and
        # cancelling that under it makes the scheduler log an error. A cancelled block wakes
        # that thread, which cancels the rest itself (run_shard).
        with self.lock:
            self.cancelled = True
            futs = [f for f in self.futures if not f.done()]
        if futs:
            with contextlib.suppress(Exception):  # a client already closing cancels them too
                self.client.cancel(futs)


class ShardService:
    """Runs shard requests with the host's Client, one thread per request."""

    def __init__(self, client, path: str):
        self.client = client
        self.path = path
        self.stopping = False
        self.requests: set[_Request] = set()
        self.lock = threading.Lock()
        service = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                service._handle(self.request, self.rfile, self.wfile)

        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        old = os.umask(0o177)  # created 0600: no window in which another user could connect
        try:
            self.server = socketserver.ThreadingUnixStreamServer(path, Handler)
        finally:
            os.umask(old)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ShardService:
        """Serve in a background thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting requests, cancel those still running, wait for their handlers to
        answer (``server_close`` joins them), and remove the socket."""
        with self.lock:
            self.stopping = True
            running = list(self.requests)
        self.server.shutdown()
        for req in running:
            req.cancel()
        self.server.server_close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def _handle(self, sock, rfile, wfile) -> None:
        from ..shard import run_shard

        log = _LineLog(wfile)
        request = _Request(self.client)
        with self.lock:
            if self.stopping:
                return
            self.requests.add(request)
        try:
            req = json.loads(rfile.readline())
            # the requester sends nothing after its request: end of file is its going away
            threading.Thread(target=_on_eof, args=(sock, request), daemon=True).start()
            summary = run_shard(req["params"], req["out"], req["cache_dir"],
                                lambda: contextlib.nullcontext(request), log=log)
            log.flush()
            _send(wfile, {"done": summary})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the requester is gone; run_shard cancelled its blocks
        except Exception as exc:  # the shard failed, or was cancelled: the requester reports it
            msg = {"error": str(exc) or type(exc).__name__, "type": type(exc).__name__}
            if request.cancelled:  # by the requester's going away, or the host stopping
                msg = {"error": "the run's embedded Dask cluster stopped during the shard (the "
                       "run ended or was interrupted)", "type": "RuntimeError"}
            elif isinstance(exc, InputError):
                msg.update(field=exc.field, value=repr(exc.value), rule=exc.rule)
            elif isinstance(exc, CorruptFileError):
                msg.update(path=exc.path, reason=exc.reason)
            else:
                traceback.print_exc(file=sys.stderr)  # the host's log
            with contextlib.suppress(OSError):
                log.flush()
                _send(wfile, msg)
        finally:
            request.finished = True
            with self.lock:
                self.requests.discard(request)


def _on_eof(sock, request: _Request) -> None:
    with contextlib.suppress(OSError):
        sock.recv(1)
    if not request.finished:
        request.cancel()


def start_service(client, dask_dir) -> ShardService | None:
    """The host's shard service, or None (logged) if its socket cannot be made: the jobs then
    run their shards as Dask clients, as without a host."""
    try:
        return ShardService(client, socket_path(dask_dir)).start()
    except OSError as exc:
        print(f"netsense: no shard service ({exc}); shard jobs connect to the cluster "
              "themselves", file=sys.stderr, flush=True)
        return None


def _raise_remote(msg: dict) -> None:
    if msg.get("type") == "InputError" and "field" in msg:
        err = InputError(msg["field"], msg["value"], msg["rule"])
        err.args = (msg["error"],)
        raise err
    if msg.get("type") == "CorruptFileError" and "path" in msg:
        raise CorruptFileError(msg["path"], msg["reason"])
    error = msg["error"]
    raise RuntimeError(error if msg.get("type") in (None, "RuntimeError", "BlockError")
                       else f"{msg['type']}: {error}")


class NoService(ConnectionError):
    """Nobody listens on the socket: the caller runs the shard itself."""


def request_shard(path: str, params: dict, out, cache_dir, log, host_log: str = "") -> dict:
    """Ask the host listening on ``path`` to run a shard; copy its log lines to ``log``.

    Returns the summary. Raises :class:`NoService` if nobody listens (the caller then runs the
    shard itself), the shard's own error if it fails (see the module docstring), and
    ``RuntimeError`` if the host goes away mid-shard.
    """
    gone = RuntimeError(f"the embedded Dask cluster's host went away during the shard; see "
                        f"{host_log or 'its host.log'}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(path)
        except OSError as exc:
            raise NoService(f"no shard service at {path} ({exc.strerror or exc})") from None
        req = {"params": params, "out": str(Path(out).resolve()),
               "cache_dir": str(Path(cache_dir).resolve())}
        final = None
        try:
            sock.sendall((json.dumps(req) + "\n").encode())
            with sock.makefile("rb") as replies:
                for line in replies:
                    msg = json.loads(line)
                    if "log" not in msg:
                        final = msg
                        break
                    print(msg["log"], file=log, flush=True)
        except (OSError, ValueError):  # reset, or a reply cut short: the host died
            raise gone from None
    if final is None:
        raise gone
    if "done" in final:
        return final["done"]
    _raise_remote(final)
