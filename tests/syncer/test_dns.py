"""DNS answers from the virtual cluster's objects (pure), and the server over UDP and TCP."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from dnslib import QTYPE, RCODE, DNSRecord

from preview.syncer import dns

SERVICES = {
    ("shop", "web"): {"spec": {"clusterIP": "10.96.7.7", "ports": [
        {"name": "http", "port": 80, "protocol": "TCP"}]}},
    ("shop", "db"): {"spec": {"clusterIP": "None"}},
    ("shop", "pending"): {"spec": {"clusterIP": "10.43.0.99"}},  # not handed back yet
    ("shop", "ext"): {"spec": {"type": "ExternalName", "externalName": "example.com"}},
}
HOST_IPS = {("shop", "pending"): "10.96.9.9", ("shop", "web"): "10.96.7.7"}
ENDPOINTS = {("shop", "db"): {"subsets": [{"addresses": [{"ip": "10.244.1.5"},
                                                         {"ip": "10.244.2.6"}]}]}}
PODS = {"shop": [{"spec": {"hostname": "db-0", "subdomain": "db"},
                  "status": {"podIP": "10.244.1.5"}}]}
RECORDS = dns.Records(service=lambda ns, n: SERVICES.get((ns, n)),
                      host_ip=lambda ns, n: HOST_IPS.get((ns, n)),
                      endpoints=lambda ns, n: ENDPOINTS.get((ns, n)),
                      pods=lambda ns: PODS.get(ns, []))


def ask(name: str, qtype: str = "A") -> Any:
    return dns.answer(DNSRecord.question(name, qtype), RECORDS)


def addresses(reply: Any) -> list[str]:
    return sorted(str(rr.rdata) for rr in reply.rr)


def test_services_resolve_to_routable_addresses() -> None:
    assert addresses(ask("web.shop.svc.cluster.local")) == ["10.96.7.7"]
    assert addresses(ask("pending.shop.svc.cluster.local")) == ["10.96.9.9"]  # the host's
    assert addresses(ask("db.shop.svc.cluster.local")) == ["10.244.1.5", "10.244.2.6"]
    assert addresses(ask("db-0.db.shop.svc.cluster.local")) == ["10.244.1.5"]
    ext = ask("ext.shop.svc.cluster.local")
    assert ext.rr[0].rtype == QTYPE.CNAME and str(ext.rr[0].rdata) == "example.com."


def test_srv_for_named_ports() -> None:
    reply = ask("_http._tcp.web.shop.svc.cluster.local", "SRV")
    assert reply.rr[0].rdata.port == 80
    assert str(reply.rr[0].rdata.target) == "web.shop.svc.cluster.local."


def test_unknown_names_in_the_domain_are_nxdomain_others_are_not_ours() -> None:
    assert ask("nope.shop.svc.cluster.local").header.rcode == RCODE.NXDOMAIN
    assert ask("web.other.svc.cluster.local").header.rcode == RCODE.NXDOMAIN
    assert ask("web.shop.svc.cluster.local", "AAAA").header.rcode == RCODE.NOERROR
    assert ask("example.com") is None


def test_server_answers_over_udp_and_tcp_and_forwards_the_rest() -> None:
    async def scenario() -> tuple[list[str], list[str], int]:
        upstream_calls: list[str] = []

        class Upstream(dns.Resolver):
            async def _forward(self, data: bytes, request: DNSRecord) -> bytes:
                upstream_calls.append(str(request.q.qname))
                return bytes(request.reply().pack())

        closers = await dns.serve(Upstream(RECORDS, "cluster.local", []), "127.0.0.1", 0)
        port = closers[1].sockets[0].getsockname()[1]
        udp_port = closers[0].get_extra_info("sockname")[1]
        try:
            query = DNSRecord.question("web.shop.svc.cluster.local").pack()
            udp = await asyncio.to_thread(_udp, bytes(query), udp_port)
            tcp = await asyncio.to_thread(_tcp, bytes(query), port)
            await asyncio.to_thread(_udp, bytes(DNSRecord.question("example.com").pack()),
                                    udp_port)
            return addresses(DNSRecord.parse(udp)), addresses(DNSRecord.parse(tcp)), \
                len(upstream_calls)
        finally:
            closers[0].close()
            closers[1].close()

    udp, tcp, forwarded = asyncio.run(scenario())
    assert udp == tcp == ["10.96.7.7"] and forwarded == 1


def _udp(query: bytes, port: int) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(query, ("127.0.0.1", port))
        return s.recv(4096)


def _tcp(query: bytes, port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(struct.pack("!H", len(query)) + query)
        size = struct.unpack("!H", s.recv(2))[0]
        return s.recv(size)
