"""The server's own TLS: a private certificate authority and a server certificate, made once
into var/tls/, so kubectl can send a classroom key (kubectl sends tokens over https only).

    ca.pem          the CA certificate: kubectl --certificate-authority, GET /api/tls/ca.pem,
                    and the certificate-authority-data of a downloaded kubeconfig
    server.pem      the server's certificate (its names: localhost, 127.0.0.1, ::1, the
                    non-wildcard ALLOWED_HOSTS and any --host), signed by the CA
    server-key.pem  its private key (mode 0600)

The CA's private key is never written: it signs the server certificate once and is dropped,
so nothing read from var/ can mint another certificate this CA vouches for. When the names
change (a new ALLOWED_HOSTS entry) or the certificate nears its end, both are made again;
kubeconfigs downloaded before then carry the old CA and must be downloaded again.
"""

import datetime
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
CA_DAYS = 3650
SERVER_DAYS = 825  # the longest validity Apple's TLS clients accept for a server certificate
RENEW_DAYS = 30  # made again when fewer days than this are left


@dataclass(frozen=True)
class TlsFiles:
    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def cert(self) -> Path:
        return self.folder / "server.pem"

    @property
    def key(self) -> Path:
        return self.folder / "server-key.pem"


def files() -> TlsFiles:
    from django.conf import settings

    return TlsFiles(Path(settings.VAR_DIR) / "tls")


def ca_pem() -> bytes | None:
    """The CA certificate, or None when no certificate has been made yet."""
    try:
        return files().ca.read_bytes()
    except FileNotFoundError:
        return None


def server_names(extra=()) -> list[str]:
    """The names the server certificate holds: the local ones, the ALLOWED_HOSTS a browser or
    kubectl may use to reach this server (wildcards cannot be in a certificate made here), and
    any given. Ports and IPv6 brackets are dropped."""
    from django.conf import settings

    names: list[str] = []
    for host in [*LOCAL_NAMES, *settings.ALLOWED_HOSTS, *extra]:
        host = host.strip()
        if host.startswith("[") and "]" in host:
            host = host[1:host.index("]")]
        elif host.count(":") == 1:
            host = host.split(":")[0]
        host = host.lower()
        if not host or host in ("*", "testserver") or host.startswith((".", "*")) or host in names:
            continue
        names.append(host)
    return names


def ensure(extra=(), *, force: bool = False) -> tuple[TlsFiles, bool]:
    """The certificate files, made when missing, expiring or lacking a name; (files, made now)."""
    tls = files()
    names = server_names(extra)
    if not force and _still_good(tls, names):
        return tls, False
    tls.folder.mkdir(parents=True, exist_ok=True)
    ca_cert, server_cert, server_key = _make(names)
    _write(tls.key, server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), private=True)
    _write(tls.cert, server_cert.public_bytes(serialization.Encoding.PEM))
    _write(tls.ca, ca_cert.public_bytes(serialization.Encoding.PEM))
    return tls, True


def certificate_names(path: Path) -> list[str]:
    """The DNS names and IP addresses a certificate file's first certificate holds."""
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [*san.get_values_for_type(x509.DNSName), *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))]


def _still_good(tls: TlsFiles, names: list[str]) -> bool:
    if not (tls.ca.exists() and tls.cert.exists() and tls.key.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(tls.cert.read_bytes())
        held = set(certificate_names(tls.cert))
    except (ValueError, x509.ExtensionNotFound):
        return False
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return left > datetime.timedelta(days=RENEW_DAYS) and {_canonical(n) for n in names} <= held


def _canonical(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def _make(names: list[str]):
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)  # a client's clock a little behind still accepts it
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Clusterscope"),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"Clusterscope local CA ({socket.gethostname()[:40]})")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    alt = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])).issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return ca_cert, server_cert, server_key


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Written beside and renamed over, so a server reading the old file never sees half a new one."""
    temporary = path.with_suffix(path.suffix + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


def endpoint(host: str, port: int, tls: TlsFiles) -> str:
    """The Twisted endpoint string daphne listens on for https (colons and backslashes in a
    value are escaped, as Twisted's parser wants)."""

    def quoted(value) -> str:
        return str(value).replace("\\", "\\\\").replace(":", "\\:")

    return f"ssl:{port}:interface={quoted(host)}:privateKey={quoted(tls.key)}:certKey={quoted(tls.cert)}"
