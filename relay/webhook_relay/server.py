"""uvicorn's httptools protocol with the two limits it lacks: a header read timeout and a
header-size cap, and JSON refusals for requests it cannot parse.

uvicorn arms its keep-alive timer only after a response, so a connection that sends nothing,
or half a request head, is held forever (2,000 such connections were held for 30 s), and
httptools accepts headers of any size. Here every request head must arrive within
`header_timeout` seconds of the connection opening or of the previous response, and its
request line plus headers must fit in `max_header_bytes`; otherwise the connection gets a
JSON 408 or 431 and is closed. The body has its own timeout in the ingest handler.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _HeadTooLarge(Exception):
    pass


def _answer(status: int, reason: bytes, detail: str) -> bytes:
    body = json.dumps({"detail": detail}).encode()
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"connection: close\r\n\r\n" % (status, reason, len(body))
    ) + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0
    max_header_bytes: int = 16 * 1024

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn answers a request httptools cannot parse in plain text; refusals here are
        JSON like every other. `_HeadTooLarge` from a callback arrives as a parse error."""
        if getattr(self, "_head_too_large", False):
            self._refuse(431, b"Request Header Fields Too Large", "request head too large")
            return
        self._refuse(400, b"Bad Request", msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()

    def _count(self, size: int) -> None:
        self._head_bytes = getattr(self, "_head_bytes", 0) + size
        if self._head_bytes > self.max_header_bytes:
            self._head_too_large = True
            raise _HeadTooLarge

    def _refuse(self, status: int, reason: bytes, detail: str) -> None:
        self._disarm_head_timer()
        if not self.transport.is_closing():
            self.transport.write(_answer(status, reason, detail))
            self.transport.close()

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.cycle is None or self.cycle.response_complete:
            detail = f"request head not received within {self.header_timeout:g} s"
            self._refuse(408, b"Request Timeout", detail)


def guarded_protocol(*, header_timeout: float, max_header_bytes: int) -> type[Any]:
    """A protocol class with these limits, for `uvicorn.run(http=...)`."""
    return type(
        "RelayHttpProtocol",
        (GuardedHttpToolsProtocol,),
        {"header_timeout": header_timeout, "max_header_bytes": max_header_bytes},
    )
