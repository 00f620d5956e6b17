"""Request bodies read into memory under a size limit and a deadline, and multipart forms parsed there.

Nothing is spooled to disk: Starlette's own form parser writes files above 1 MB to a temporary file, so uploads are
parsed here instead, from the bytes already held, which the size limit bounds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from python_multipart.multipart import MultipartParser, parse_options_header

from fer_core.server.errors import ApiError


@dataclass(frozen=True)
class Upload:
    """One uploaded image: the client's name for it (never a server path) and its bytes."""

    name: str
    data: bytes


async def read_limited(chunks: AsyncIterator[bytes], declared_length: str | None, limit: int,
                       total_seconds: float, idle_seconds: float) -> bytes:
    """The whole body, or ApiError: 413 as soon as the declared length or the bytes received pass the limit (the
    rest is never read), 408 when the client pauses longer than idle_seconds or takes longer than total_seconds."""
    if declared_length is not None:
        try:
            declared = int(declared_length)
        except ValueError:
            raise ApiError(400, "bad_request", "Content-Length is not a number") from None
        if declared > limit:
            raise too_large(limit)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + total_seconds
    received = bytearray()
    iterator = aiter(chunks)
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise _timeout(total_seconds)
        try:
            chunk = await asyncio.wait_for(anext(iterator), timeout=min(idle_seconds, remaining))
        except StopAsyncIteration:
            return bytes(received)
        except TimeoutError:
            raise _timeout(total_seconds) from None
        received += chunk
        if len(received) > limit:
            raise too_large(limit)


# The body's unread rest is not wanted: the connection closes after the answer instead of draining it.
_CLOSE = {"Connection": "close"}


def too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the request body is over the limit of {limit:,} bytes", _CLOSE)


def _timeout(total_seconds: float) -> ApiError:
    return ApiError(408, "request_timeout", f"the request body did not arrive in time (at most {total_seconds:g} s, "
                                            "without long pauses)", _CLOSE)


def uploads_from_body(body: bytes, content_type: str | None) -> list[Upload]:
    """A multipart form's file parts, in order; any other body is one image named "upload"."""
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data":
        return [Upload("upload", body)] if body else []
    boundary = options.get(b"boundary")
    if not boundary:
        raise ApiError(400, "bad_request", "multipart/form-data without a boundary")
    return _parse_multipart(body, boundary)


def _parse_multipart(body: bytes, boundary: bytes) -> list[Upload]:
    parts: list[tuple[dict[bytes, bytes], bytearray]] = []
    header_field, header_value = bytearray(), bytearray()

    def on_part_begin() -> None:
        parts.append(({}, bytearray()))

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        parts[-1][0][bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1][1].extend(data[start:end])

    parser = MultipartParser(boundary, {"on_part_begin": on_part_begin, "on_header_field": on_header_field,
                                        "on_header_value": on_header_value, "on_header_end": on_header_end,
                                        "on_part_data": on_part_data})
    try:
        parser.write(body)
        parser.finalize()
    except Exception as exc:  # noqa: BLE001 - the parser's own errors vary; any of them means a malformed form
        raise ApiError(400, "bad_request", "malformed multipart/form-data body") from exc
    uploads = []
    for headers, data in parts:
        _, disposition = parse_options_header(headers.get(b"content-disposition", b""))
        filename = disposition.get(b"filename")
        if filename is not None:
            uploads.append(Upload(_display_name(filename), bytes(data)))
    return uploads


def _display_name(filename: bytes) -> str:
    """The client's file name as a label: its last path component, printable, at most 200 characters."""
    text = filename.decode("utf-8", "replace").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if ch.isprintable())[:200]
    return text or "upload"
