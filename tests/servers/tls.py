"""Throwaway TLS material (trustme CA + 127.0.0.1/localhost server cert) for the test servers."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

__all__ = ["TLSMaterial", "make_tls"]

SERVER_NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class TLSMaterial:
    """A CA, a server certificate it signed, and the CA bundle written as a PEM file."""

    ca: trustme.CA
    server_cert: trustme.LeafCert
    ca_bundle_path: Path

    def server_context(self, session_tickets: bool = False) -> ssl.SSLContext:
        """A fresh server-side context presenting the certificate.

        TLS 1.3 session tickets are off by default: they reach the client just after the
        handshake, while it writes its first request, and clients that read and write one
        SSLSocket from two threads (websockets' sync client, websocket-client) then lose that
        write now and then (about 1 connection in 300 here), a flake that is not the test's.
        """
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(context)
        if not session_tickets:
            context.num_tickets = 0
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only this CA (hostname checking stays on)."""
        return ssl.create_default_context(cafile=str(self.ca_bundle_path))


def make_tls(tmp_dir: str | os.PathLike[str]) -> TLSMaterial:
    """New CA and server cert; the CA bundle goes to ``tmp_dir/ca.pem``."""
    ca = trustme.CA()
    server_cert = ca.issue_cert(*SERVER_NAMES)
    bundle = Path(tmp_dir) / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return TLSMaterial(ca=ca, server_cert=server_cert, ca_bundle_path=bundle)
