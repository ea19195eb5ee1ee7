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

    def server_context(self) -> ssl.SSLContext:
        """A fresh server-side context presenting the certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(context)
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
