"""SPDY/3.1 framing, the subset `kubectl port-forward` speaks (through a WebSocket tunnel).

kubectl 1.31+ (`PortForwardWebsockets`) opens a WebSocket with the subprotocol
`SPDY/3.1+portforward.k8s.io` and sends SPDY frames inside binary messages
(`k8s.io/apiserver/pkg/util/proxy/streamtunnel.go`); the streams are those of the
kubelet's port-forward protocol (`pkg/kubelet/cri/streaming/portforward/httpstream.go`):
per connection an `error` and a `data` stream sharing a `requestID` and naming a `port`.

Frames follow draft-mbelshe-httpbis-spdy-00; header blocks are zlib streams primed with
the protocol's fixed dictionary (§2.6.10.1), one stream per direction for the session.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = (
    1, 2, 3, 4, 6, 7, 8, 9)
FLAG_FIN = 0x01
RST_CANCEL = 5

# The dictionary: length-prefixed words, then a run of status lines, dates and media types.
_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding "
    "accept-language accept-ranges age allow authorization cache-control connection "
    "content-base content-encoding content-language content-length content-location "
    "content-md5 content-range content-type date etag expect expires from host if-match "
    "if-modified-since if-none-match if-range if-unmodified-since last-modified location "
    "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after "
    "server te trailer transfer-encoding upgrade user-agent vary via warning "
    "www-authenticate method get status|200 OK|version HTTP/1.1 url public set-cookie "
    "keep-alive origin"
)
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417"
    "502504505203 Non-Authoritative Information204 No Content301 Moved Permanently"
    "400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
    "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct "
    "Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,"
    "image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,"
    "publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)


def _dictionary() -> bytes:
    words: list[str] = []
    for chunk in _WORDS.split("|"):
        # "status|200 OK|version": the one word with a space is kept whole.
        words += [chunk] if " " in chunk and chunk[0].isdigit() else chunk.split()
    return b"".join(struct.pack(">I", len(w)) + w.encode() for w in words) + _TAIL.encode()


DICTIONARY = _dictionary()


@dataclass
class Frame:
    kind: int  # 0 for DATA, else the control frame type
    stream_id: int
    flags: int
    payload: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


class Codec:
    """Parses incoming frames and builds outgoing ones for one session."""

    def __init__(self) -> None:
        self._buffer = b""
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 8,
                                         zlib.Z_DEFAULT_STRATEGY, DICTIONARY)

    # -- in ----------------------------------------------------------------------------------------
    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= 8:
            word, flags_length = struct.unpack(">II", self._buffer[:8])
            length = flags_length & 0xFFFFFF
            if len(self._buffer) < 8 + length:
                break
            body = self._buffer[8:8 + length]
            self._buffer = self._buffer[8 + length:]
            flags = flags_length >> 24
            if not word & 0x80000000:
                frames.append(Frame(0, word & 0x7FFFFFFF, flags, body))
                continue
            frames.append(self._control(word & 0xFFFF, flags, body))
        return frames

    def _control(self, kind: int, flags: int, body: bytes) -> Frame:
        if kind == SYN_STREAM:
            stream_id = struct.unpack(">I", body[:4])[0] & 0x7FFFFFFF
            return Frame(kind, stream_id, flags, headers=self._headers(body[10:]))
        if kind in (SYN_REPLY, HEADERS):
            stream_id = struct.unpack(">I", body[:4])[0] & 0x7FFFFFFF
            return Frame(kind, stream_id, flags, headers=self._headers(body[4:]))
        if kind in (RST_STREAM, WINDOW_UPDATE):
            return Frame(kind, struct.unpack(">I", body[:4])[0] & 0x7FFFFFFF, flags, body[4:])
        return Frame(kind, 0, flags, body)  # SETTINGS, PING, GOAWAY, others

    def _headers(self, block: bytes) -> dict[str, str]:
        raw = self._inflate.decompress(block)
        count = struct.unpack(">I", raw[:4])[0]
        pos, headers = 4, {}
        for _ in range(count):
            n = struct.unpack(">I", raw[pos:pos + 4])[0]
            name = raw[pos + 4:pos + 4 + n].decode()
            pos += 4 + n
            n = struct.unpack(">I", raw[pos:pos + 4])[0]
            headers[name.lower()] = raw[pos + 4:pos + 4 + n].decode()
            pos += 4 + n
        return headers

    # -- out ---------------------------------------------------------------------------------------
    def syn_reply(self, stream_id: int, headers: dict[str, str] | None = None) -> bytes:
        items = sorted((headers or {}).items())
        raw = struct.pack(">I", len(items)) + b"".join(
            struct.pack(">I", len(k)) + k.encode() + struct.pack(">I", len(v)) + v.encode()
            for k, v in items)
        block = self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        return _control(SYN_REPLY, 0, struct.pack(">I", stream_id) + block)


def data(stream_id: int, payload: bytes, fin: bool = False) -> bytes:
    return struct.pack(">II", stream_id & 0x7FFFFFFF,
                       ((FLAG_FIN if fin else 0) << 24) | len(payload)) + payload


def rst_stream(stream_id: int, status: int = RST_CANCEL) -> bytes:
    return _control(RST_STREAM, 0, struct.pack(">II", stream_id, status))


def ping(ping_id: bytes) -> bytes:
    return _control(PING, 0, ping_id)


def _control(kind: int, flags: int, body: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(body)) + body


MAX_DATA = 0xFFFFFF  # a frame's 24-bit length
