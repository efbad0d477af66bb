"""python manage.py sip2_server: the SIP2 server for self-service machines."""

import logging

from django.core.management.base import BaseCommand, CommandError

from selfservice.sip2.server import serve_forever, ssl_context


class Command(BaseCommand):
    help = ("Run the SIP2 server (3M SIP2 2.00) for the libraries' self-service machines: each machine logs in "
            "(93) with a machine account a library administrator made under /balie/beheer/automaten/.")
    requires_system_checks = []  # no database work before the workers start

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=6001, help="TCP port (default 6001; 0: any free port)")
        parser.add_argument("--cert", help="TLS certificate chain (PEM); with --key the server speaks TLS only")
        parser.add_argument("--key", help="TLS private key (PEM)")
        parser.add_argument("--processes", type=int, default=1,
                            help="worker processes sharing the port (default 1; e.g. the number of cores)")
        parser.add_argument("--threads", type=int, default=8,
                            help="worker threads per process, each with its own database connection (default 8)")
        parser.add_argument("--idle-timeout", type=float, default=600,
                            help="seconds a connection may stay silent (default 600)")
        parser.add_argument("--login-timeout", type=float, default=60,
                            help="seconds a new connection has to log in (default 60)")
        parser.add_argument("--message-timeout", type=float, default=30,
                            help="seconds a started message has to end (default 30)")
        parser.add_argument("--max-connections", type=int, default=2000,
                            help="connections per process (default 2000)")
        parser.add_argument("--encoding", default="utf-8",
                            help="character set of the messages (default utf-8; older machines: latin-1)")

    def handle(self, *args, **options):
        if bool(options["cert"]) != bool(options["key"]):
            raise CommandError("TLS needs both --cert and --key.")
        try:
            "x".encode(options["encoding"])
        except LookupError:
            raise CommandError(f"Unknown encoding {options['encoding']!r}.") from None
        if options["processes"] < 1 or options["threads"] < 1:
            raise CommandError("--processes and --threads must be at least 1.")
        context = ssl_context(options["cert"], options["key"]) if options["cert"] else None
        if not logging.getLogger("lsb.sip2").handlers and not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(message)s")
        logging.getLogger("lsb.sip2").setLevel(logging.INFO)

        def announce(text):
            self.stdout.write(text)
            self.stdout.flush()

        serve_forever(
            host=options["host"], port=options["port"], processes=options["processes"], announce=announce,
            ssl=context, threads=options["threads"], idle_timeout=options["idle_timeout"],
            login_timeout=options["login_timeout"], message_timeout=options["message_timeout"],
            max_connections=options["max_connections"], encoding=options["encoding"],
        )
