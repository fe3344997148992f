"""``manage.py rebuild_rollups [--check]``: recompute the dashboard's rollups from the
tables, or check them against a recount (see ``governance.dashboard.rollups``).

The triggers keep the rollups current, so neither is part of normal operation: rebuild
after loading rows past the triggers (a bulk load with triggers disabled, a restored
dump of the tables without the rollups) or after changing ``TIME_ZONE``; check when in
doubt. Both read every ticket, event, whistle, household and resident: minutes on a
county of a million tickets.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.dashboard import rollups


class Command(BaseCommand):
    help = (
        "Recompute the dashboard's rollups from the tables (PostgreSQL), or with --check "
        "recount them with the Python definitions and report every difference."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Compare with a recount instead of rebuilding; fail on a difference.",
        )

    def handle(self, *args, check: bool = False, **options) -> None:
        if not rollups.enabled():
            self.stdout.write("Rollups are kept on PostgreSQL only; this database counts live.")
            return
        started = time.monotonic()
        if check:
            problems = rollups.check()
            if problems:
                for problem in problems:
                    self.stderr.write(problem)
                raise CommandError(f"The rollups differ from a recount ({len(problems)} shown).")
            self.stdout.write(
                self.style.SUCCESS(
                    f"The rollups agree with a recount ({time.monotonic() - started:.0f} s)."
                )
            )
            return
        rows = rollups.rebuild()
        self.stdout.write(
            self.style.SUCCESS(
                f"Rebuilt {rows:,} rollup rows in {time.monotonic() - started:.0f} s."
            )
        )
