"""manage.py serve [addr:port] [--tls-port 8443] [--tls-host NAME ...]: what `make run` starts.

Daphne's runserver (HTTP and WebSockets on addr:port, the autoreloader, static files) with a
second listener on the same address speaking TLS, so kubectl can send a classroom key as a
bearer token (kubectl sends no token over plain http). The certificate is made on first use
into var/tls/ (dashboard/tls.py); its CA is var/tls/ca.pem and GET /api/tls/ca.pem.
--tls-port 0 serves plain http only.
"""

import socket

from daphne.management.commands.runserver import Command as RunserverCommand
from daphne.server import Server
from django.conf import settings

from ... import tls


class Command(RunserverCommand):
    help = "Serve http and WebSockets on addr:port, and https on --tls-port (a self-signed CA in var/tls/)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--tls-port", type=int, default=settings.TLS_PORT,
                            help=f"the https port on the same address (default {settings.TLS_PORT}, CLUSTERSCOPE_TLS_PORT); 0 for none")
        parser.add_argument("--tls-host", action="append", default=[], metavar="NAME",
                            help="another name or address the certificate must hold (e.g. this machine's LAN address); repeatable")

    def handle(self, *args, **options):
        self.tls_port, self.tls_hosts = options["tls_port"], options["tls_host"]
        super().handle(*args, **options)

    def inner_run(self, *args, **options):
        settings.HTTP_PORT = int(self.port)  # the kubeconfig download names both ports
        if self.tls_port and not _free(self.addr, self.tls_port):
            # Zero configuration first: the page and plain kubectl still work; only keys over TLS wait.
            self.stderr.write(f"https is not served: port {self.tls_port} is in use (choose another with --tls-port, or TLS_PORT= for make run)\n")
            self.tls_port = 0
        settings.TLS_PORT = self.tls_port
        if self.tls_port:
            files, made = tls.ensure(self.tls_hosts)
            extra = tls.endpoint(self.addr, self.tls_port, files)
            self.server_cls = lambda **kwargs: Server(**{**kwargs, "endpoints": [*kwargs["endpoints"], extra]})
            shown = f"[{self.addr}]" if self._raw_ipv6 else self.addr
            self.stdout.write(f"{'Made a' if made else 'Using the'} TLS certificate for {', '.join(tls.certificate_names(files.cert))} "
                              f"(CA: {files.ca}, also at /api/tls/ca.pem).\n"
                              f"https (kubectl with a key) at https://{shown}:{self.tls_port}/\n")
        super().inner_run(*args, **options)


def _free(host: str, port: int) -> bool:
    """Whether a listener could bind host:port now (as Twisted binds: SO_REUSEADDR)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
