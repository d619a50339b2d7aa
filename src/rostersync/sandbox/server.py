"""The sandbox over HTTP: a Starlette app, and a uvicorn server in a background thread.

``create_app`` wires the pieces in the order a real edge would meet them: admin routes
(``/_sandbox/``, never faulted nor logged), then armed faults, then Bearer auth, then the
API. ``SandboxServer`` binds its socket before starting uvicorn, so the port is known at
once (``port=0`` picks a free one) and no test waits for the server by sleeping.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rostersync.sandbox.admin import handle_admin, handle_tokens
from rostersync.sandbox.answer import Answer, error_answer
from rostersync.sandbox.api import API_PREFIX, handle_api
from rostersync.sandbox.faults import WRAPPING_KINDS, Fault, fault_answer, malformed
from rostersync.sandbox.state import SandboxState

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _response(answer: Answer) -> Response:
    return Response(
        content=answer.body,
        status_code=answer.status,
        media_type=answer.media_type,
        headers=answer.headers,
    )


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _normal_answer(state: SandboxState, request: Request, fault: Fault | None) -> Answer:
    path, style = request.url.path, state.error_style
    if request.method != "GET":
        return error_answer(405, f"The sandbox answers only GET on {path}.", style)
    if path == "/oauth/tokens":
        query = dict(request.query_params)
        return handle_tokens(state, request.headers.get("authorization"), query)
    if path != API_PREFIX and not path.startswith(f"{API_PREFIX}/"):
        return error_answer(404, f"The sandbox has no endpoint {path}.", style)
    if not state.token_valid(_bearer(request)):
        return error_answer(401, "The bearer token is missing, unknown or revoked.", style)
    broken = None
    if fault is not None and fault.kind == "broken_next":
        broken = str(fault.opts.get("mode", "repeat"))
    params = request.query_params.multi_items()
    return handle_api(state, path, request.url.query, params, style, broken)


async def _pause(request: Request, delay: float) -> None:
    """Wait ``delay`` seconds without blocking other requests; stop early if the client left."""
    deadline = time.monotonic() + delay
    while (remaining := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(0.1, remaining))
        if await request.is_disconnected():
            return


def create_app(state: SandboxState) -> Starlette:
    """The ASGI app serving ``state``."""
    return _build_app(lambda: state)


def _build_app(current: Callable[[], SandboxState]) -> Starlette:
    """The ASGI app serving whatever state ``current`` returns at each request."""

    async def dispatch(request: Request) -> Response:
        state = current()
        path = request.url.path
        if path.startswith("/_sandbox/"):
            body = await request.body()
            return _response(handle_admin(state, request.method, path, body))
        fault = state.faults.take(path)
        if fault is not None and fault.kind not in WRAPPING_KINDS:
            answer = fault_answer(fault, state.error_style)
        else:
            answer = _normal_answer(state, request, fault)
            if fault is not None and fault.kind == "malformed_json":
                answer = malformed(answer)
        state.log_request(request.method, path, request.url.query, answer.status)
        if fault is not None and fault.kind in ("slow", "timeout"):
            await _pause(request, fault.delay)
        return _response(answer)

    return Starlette(routes=[Route("/{path:path}", dispatch, methods=_METHODS)])


class _ThreadServer(uvicorn.Server):
    """A uvicorn server that says when it is ready to accept connections."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


class SandboxServer:
    """Runs the sandbox in a background thread; use as a context manager.

    Assigning ``server.state`` serves another state from the next request on, without a
    restart (tests share one server and give each test a fresh district).
    """

    def __init__(self, state: SandboxState, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self.host = host
        self.port = port
        self._socket: socket.socket | None = None
        self._server: _ThreadServer | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` (without ``/v3.0``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def token(self) -> str:
        return self.state.token

    def start(self) -> SandboxServer:
        """Bind, start serving in a thread, and return once the server accepts requests."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say they are
        # TCP, and without it every response waits ~40 ms for a delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(
            _build_app(lambda: self.state),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = _ThreadServer(config)
        self._server = server
        self._thread = threading.Thread(
            target=self._run, args=(server, sock), name="rostersync-sandbox", daemon=True
        )
        self._thread.start()
        server.ready.wait(timeout=30)
        if self._error is not None or not server.started:
            self.stop()
            raise RuntimeError(
                f"The sandbox server could not start on {self.base_url}: {self._error!r}."
            )
        return self

    def _run(self, server: _ThreadServer, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as error:  # report start-up failures to start()
            self._error = error
        finally:
            server.ready.set()

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
