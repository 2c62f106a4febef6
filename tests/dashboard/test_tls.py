"""The server's own certificate (dashboard/tls.py): a CA and a server certificate that verify
for the names the server is reached by, made once, made again when a name is missing."""

import datetime
import ipaddress
import stat

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

from dashboard import tls


@pytest.fixture
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver", ".example.org", "class.example.net:8000"]
    return tmp_path


def _verifies(files: tls.TlsFiles, name) -> bool:
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    leaf = x509.load_pem_x509_certificate(files.cert.read_bytes())
    verifier = PolicyBuilder().store(Store([ca])).time(datetime.datetime.now(datetime.UTC)).build_server_verifier(name)
    try:
        verifier.verify(leaf, [])
        return True
    except Exception:  # cryptography's VerificationError
        return False


def test_the_certificate_holds_the_local_names_and_the_allowed_hosts(var):
    files, made = tls.ensure()
    assert made and files.folder == var / "tls"
    assert tls.certificate_names(files.cert) == ["localhost", "class.example.net", "127.0.0.1", "::1"]  # no wildcard, no testserver
    for name in (x509.DNSName("localhost"), x509.DNSName("class.example.net"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))):
        assert _verifies(files, name)
    assert not _verifies(files, x509.DNSName("elsewhere.example.org"))
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert not any("KEY" in p.read_text() for p in (files.ca, files.cert))  # the CA's key is nowhere
    assert tls.ca_pem() == files.ca.read_bytes()


def test_it_is_made_once_and_again_when_a_name_is_missing(var):
    first, _ = tls.ensure()
    ca = first.ca.read_bytes()
    assert tls.ensure() == (first, False) and first.ca.read_bytes() == ca
    again, made = tls.ensure(["192.168.1.20"])
    assert made and first.ca.read_bytes() != ca  # a new CA: earlier kubeconfigs must be downloaded again
    assert "192.168.1.20" in tls.certificate_names(again.cert)
    assert tls.ensure() == (again, False)  # the larger certificate still holds every name


def test_the_daphne_endpoint_escapes_colons(var):
    files = tls.TlsFiles(var / "a:b")
    assert tls.endpoint("::1", 8443, files) == (f"ssl:8443:interface=\\:\\:1:privateKey={var}/a\\:b/server-key.pem:certKey={var}/a\\:b/server.pem")
