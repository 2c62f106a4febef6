"""manage.py tls_cert [--host NAME ...] [--force]: make the server's TLS certificate now.

`manage.py serve` (and so `make run`) makes it on first use; this command is for making it
ahead of time, with more names (a LAN address students will use), or again (--force, e.g.
after var/tls/server-key.pem may have leaked). dashboard/tls.py says what is made and why.
"""

from django.core.management.base import BaseCommand

from ... import tls


class Command(BaseCommand):
    help = "Make var/tls/: a private CA (ca.pem) and the server's certificate and key for localhost, ALLOWED_HOSTS and --host names."

    def add_arguments(self, parser):
        parser.add_argument("--host", action="append", default=[], metavar="NAME",
                            help="another DNS name or IP address the certificate must hold; repeatable")
        parser.add_argument("--force", action="store_true", help="make a new CA and certificate even if the present ones are good")

    def handle(self, *args, host, force, **options):
        files, made = tls.ensure(host, force=force)
        self.stdout.write(f"{'made' if made else 'kept'}: {files.cert} for {', '.join(tls.certificate_names(files.cert))}\n"
                          f"its CA (give it to kubectl as --certificate-authority): {files.ca}\n")
