"""DNS for the virtual cluster's pods, answered by the syncer from its caches.

Synced pods resolve through a host Service in front of the syncer (`--dns-service`), with
the virtual namespace's search path. Names in the cluster domain are answered from the
virtual cluster's objects, with the host addresses that actually route:

- `<svc>.<ns>.svc.<domain>`: the Service's cluster IP (its host copy's, which the virtual
  Service also carries once synced); headless Services: the ready endpoint addresses;
  ExternalName Services: a CNAME;
- `<hostname>.<subdomain>.<ns>.svc.<domain>`: a pod with that hostname and subdomain
  (StatefulSet pods behind their headless Service);
- `_<port>._<proto>.<svc>.<ns>.svc.<domain>` SRV records for named ports.

Other names are forwarded to the syncer's own upstream resolver. `answer` is pure; the
server below is the I/O.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dnslib import CNAME, QTYPE, RCODE, RR, SRV, A, DNSRecord

log = logging.getLogger(__name__)
TTL = 5  # short: services come and go with the preview


@dataclass(frozen=True)
class Records:
    """What `answer` needs: lookups over the syncer's caches (no I/O)."""

    service: Callable[[str, str], dict[str, Any] | None]  # (namespace, name) -> virtual Service
    host_ip: Callable[[str, str], str | None]  # (namespace, name) -> host copy's cluster IP
    endpoints: Callable[[str, str], dict[str, Any] | None]  # virtual Endpoints
    pods: Callable[[str], list[dict[str, Any]]]  # namespace -> virtual pods


def answer(request: DNSRecord, records: Records, domain: str = "cluster.local"
           ) -> DNSRecord | None:
    """The reply for a query in the cluster domain; None when it is not ours to answer."""
    question = request.q
    name = str(question.qname).rstrip(".").lower()
    suffix = f".svc.{domain}"
    if not (name.endswith(suffix) or name == domain or name.endswith(f".{domain}")):
        return None
    reply = request.reply()
    reply.header.aa = 1
    if not name.endswith(suffix):
        reply.header.rcode = RCODE.NXDOMAIN
        return reply
    labels = name[:-len(suffix)].split(".")
    qtype = QTYPE[question.qtype]
    rrs: list[RR] = []
    if len(labels) == 2:
        rrs = _service(question.qname, labels[1], labels[0], qtype, records)
    elif len(labels) == 4 and labels[0].startswith("_") and labels[1].startswith("_"):
        return _srv(reply, question.qname, labels, qtype, records, domain)
    elif len(labels) == 3:
        rrs = _pod(question.qname, labels[2], labels[1], labels[0], qtype, records)
    if not rrs and not _exists(labels, records):
        reply.header.rcode = RCODE.NXDOMAIN
        return reply
    for rr in rrs:
        reply.add_answer(rr)
    return reply


def _exists(labels: list[str], records: Records) -> bool:
    """A name that exists but has no records of the asked type: NOERROR, empty answer."""
    return len(labels) == 2 and records.service(labels[1], labels[0]) is not None


def _service(qname: Any, namespace: str, name: str, qtype: str, records: Records) -> list[RR]:
    svc = records.service(namespace, name)
    if svc is None:
        return []
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName" and spec.get("externalName"):
        return [RR(qname, QTYPE.CNAME, rdata=CNAME(spec["externalName"]), ttl=TTL)]
    if qtype not in ("A", "ANY"):
        return []
    if spec.get("clusterIP") == "None":
        eps = records.endpoints(namespace, name) or {}
        ips = sorted({a["ip"] for s in eps.get("subsets") or [] for a in s.get("addresses") or []
                      if a.get("ip")})
    else:
        ip = records.host_ip(namespace, name) or spec.get("clusterIP")
        ips = [ip] if ip else []
    return [RR(qname, QTYPE.A, rdata=A(ip), ttl=TTL) for ip in ips if ":" not in ip]


def _pod(qname: Any, namespace: str, subdomain: str, hostname: str, qtype: str,
         records: Records) -> list[RR]:
    if qtype not in ("A", "ANY"):
        return []
    for pod in records.pods(namespace):
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        if spec.get("hostname") == hostname and spec.get("subdomain") == subdomain \
                and status.get("podIP"):
            return [RR(qname, QTYPE.A, rdata=A(status["podIP"]), ttl=TTL)]
    return []


def _srv(reply: DNSRecord, qname: Any, labels: list[str], qtype: str, records: Records,
         domain: str) -> DNSRecord:
    port_name, proto, name, namespace = labels[0][1:], labels[1][1:], labels[2], labels[3]
    svc = records.service(namespace, name)
    ports = [p for p in ((svc or {}).get("spec") or {}).get("ports") or []
             if p.get("name") == port_name and p.get("protocol", "TCP").lower() == proto]
    if not ports:
        reply.header.rcode = RCODE.NXDOMAIN
        return reply
    if qtype in ("SRV", "ANY"):
        target = f"{name}.{namespace}.svc.{domain}."
        for port in ports:
            reply.add_answer(RR(qname, QTYPE.SRV, rdata=SRV(0, 100, int(port["port"]), target),
                                ttl=TTL))
    return reply


def upstream_resolvers(resolv_conf: Path = Path("/etc/resolv.conf")) -> list[str]:
    """Nameservers of the syncer's own pod (the host cluster's DNS)."""
    try:
        lines = resolv_conf.read_text().splitlines()
    except OSError:
        return []
    return [line.split()[1] for line in lines
            if line.startswith("nameserver") and len(line.split()) > 1]


# -- the server (I/O) ----------------------------------------------------------------------------
class Resolver:
    def __init__(self, records: Records, domain: str, upstreams: list[str]) -> None:
        self.records = records
        self.domain = domain
        self.upstreams = upstreams

    async def resolve(self, data: bytes) -> bytes | None:
        try:
            request = DNSRecord.parse(data)
        except Exception:  # malformed packet: dnslib raises its own DNSError and others
            return None
        reply = answer(request, self.records, self.domain)
        if reply is not None:
            return bytes(reply.pack())
        return await self._forward(data, request)

    async def _forward(self, data: bytes, request: DNSRecord) -> bytes:
        for upstream in self.upstreams:
            try:
                return await asyncio.wait_for(_udp_query(data, upstream), 2.0)
            except (OSError, TimeoutError):
                continue
        reply = request.reply()
        reply.header.rcode = RCODE.SERVFAIL
        return bytes(reply.pack())


async def _udp_query(data: bytes, server: str, port: int = 53) -> bytes:
    loop = asyncio.get_running_loop()
    answer_future: asyncio.Future[bytes] = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, reply: bytes, addr: Any) -> None:
            if not answer_future.done():
                answer_future.set_result(reply)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(server, port))
    try:
        transport.sendto(data)
        return await answer_future
    finally:
        transport.close()


async def serve(resolver: Resolver, host: str, port: int) -> list[Any]:
    """UDP and TCP listeners on `port`; returns what to close."""
    loop = asyncio.get_running_loop()

    pending: set[asyncio.Task[None]] = set()

    class Udp(asyncio.DatagramProtocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: Any) -> None:
            async def reply() -> None:
                out = await resolver.resolve(data)
                if out is not None:
                    self.transport.sendto(out, addr)
            task = loop.create_task(reply())
            pending.add(task)  # keep a reference until it is done (asyncio holds weak ones)
            task.add_done_callback(pending.discard)

    async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = struct.unpack("!H", await reader.readexactly(2))[0]
                out = await resolver.resolve(await reader.readexactly(size))
                if out is None:
                    break
                writer.write(struct.pack("!H", len(out)) + out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    udp_transport, _ = await loop.create_datagram_endpoint(Udp, local_addr=(host, port))
    tcp_server = await asyncio.start_server(tcp, host, port)
    log.info("DNS for the virtual cluster on %s:%d (udp, tcp)", host, port)
    return [udp_transport, tcp_server]
