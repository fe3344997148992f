"""``manage.py seed_demo``: load the five seed places as demo data (see ``grids.demo``).

The command only parses options, prints and turns a refusal into ``CommandError``; what
is built, and how it stays idempotent, lives in ``grids.demo`` so it can be read and
tested without a command around it.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from grids import demo
from residents import demo as residents_demo
from tickets import demo as tickets_demo
from volunteers import demo as volunteers_demo


class Command(BaseCommand):
    help = (
        "Create the five seed places of DOMAIN.md (Delê, Jigong, Xiangning, Baijiantan, "
        "Wenyuan) as grid trees with boundaries, party organizations and demo users, then "
        f"print the accounts (password {demo.DEMO_PASSWORD!r}). Safe to run again: only "
        "what is missing is created and existing rows are never changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--quiet", action="store_true", help="Print nothing (same as --verbosity 0)."
        )
        parser.add_argument(
            "--households-scale",
            type=float,
            default=0.05,
            metavar="S",
            help="Households and residents at S times the seeds' sizes (1 = Xingfuwan's 7017 "
            "households and 22291 people; default 0.05 so the demo loads in seconds; 0 = none).",
        )

    def handle(self, *args: object, quiet: bool = False, **options: object) -> None:
        loud = not quiet and options.get("verbosity", 1) != 0
        log = self.stdout.write if loud else demo.silent
        scale = options.get("households_scale", 0.05)
        if not 0 <= scale <= 2:
            raise CommandError("--households-scale must be between 0 and 2.")
        try:
            result = demo.seed(log=log)
        except demo.DemoError as exc:
            raise CommandError(str(exc)) from exc
        households = people = tickets = 0
        if scale > 0:
            log("Households and residents")
            households, people = residents_demo.seed_residents(scale=scale, log=log)
            log("Volunteers and points")
            volunteers_demo.seed_volunteers(log=log)
            log("Tickets")
            tickets = tickets_demo.seed_tickets(per_community=max(10, round(800 * scale)), log=log)
        if loud:
            self._summary(result.created, households, people, tickets)
            self._accounts(result.accounts)

    def _summary(self, created: demo.Tally, households: int, people: int, tickets: int) -> None:
        if created.total == 0 and households == 0 and tickets == 0:
            self.stdout.write(
                self.style.SUCCESS("Nothing created: the demo data was already complete.")
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {created.grids} grids, {created.party_organizations} party "
                f"organizations, {created.users} users, {created.assignments} assignments, "
                f"{households} households, {people} residents and {tickets} tickets."
            )
        )

    def _accounts(self, rows: list[demo.AccountRow]) -> None:
        """The accounts as a table; the grid comes last because CJK text breaks alignment."""
        header = demo.AccountRow("username", "password", "role", "grid")
        width_user = max(len(r.username) for r in [header, *rows])
        width_password = max(len(r.password) for r in [header, *rows])
        width_role = max(len(r.role) for r in [header, *rows])
        self.stdout.write("")
        self.stdout.write(f"Demo accounts (all with password {demo.DEMO_PASSWORD}):")
        for row in [header, *rows]:
            self.stdout.write(
                f"{row.username:<{width_user}}  {row.password:<{width_password}}  "
                f"{row.role:<{width_role}}  {row.grid}"
            )
        self.stdout.write(
            "Accounts that already existed were left as they were: if a password was changed "
            "since, the one above no longer applies."
        )
