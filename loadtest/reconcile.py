"""After the load: was anything lost? Reads what the simulated people were answered
(``locust.json``) and checks it against the database, through the application's ORM:

1. every accepted report (201) is a ticket with the number it was answered with, and the
   run made no ticket nobody was answered for;
2. every accepted transition (200) is an event on the ticket's timeline: as many
   ``dispatched``/``published``, ``claimed``, ``accepted``, ``started``, ``resolved`` and
   ``rated`` events by people as 200s were answered;
3. every ticket's timeline is consistent: it starts with ``opened``, each event starts
   from the status the previous one ended in, and the last one ends in the ticket's status;
4. every event was notified (the outbox drained: nothing stuck behind a lost task);
5. the dashboard API's counts for each county (opened, closed, open now, by status, today)
   equal the same counts made directly on the tickets;
6. no answer was a 5xx.

Prints the figures and the result; exits 1 when a check fails.

    DATABASE_URL=... python loadtest/reconcile.py OUTPUT_DIR --base-url URL --since ISO_TIME
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import urllib.request
from collections import Counter
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# A transition the API accepted → the timeline event(s) it must have written (by a person).
EVENTS_OF_ACTION = {
    "report": ("opened",),
    "dispatch": ("dispatched", "published"),
    "claim": ("claimed",),
    "accept": ("accepted",),
    "start": ("started",),
    "resolve": ("resolved",),
    "rate": ("rated",),
}


class Checks:
    def __init__(self, say) -> None:
        self.say = say
        self.failed: list[str] = []

    def check(self, ok: bool, what: str, detail: str = "") -> None:
        self.say(f"  [{'ok' if ok else 'FAIL'}] {what}{f': {detail}' if detail and not ok else ''}")
        if not ok:
            self.failed.append(what)


def _figures(load: dict, say) -> None:
    total = load["total"]
    say(
        f"Load: {total['requests']} requests in {load['seconds']} s by {load['users']} "
        f"simulated people: {total['rps']} requests/s; latency p50 {total['p50_ms']} ms, "
        f"p95 {total['p95_ms']} ms, p99 {total['p99_ms']} ms (max {total['max_ms']} ms); "
        f"{total['failures']} unexpected answers."
    )
    say(f"  {'request':<24}{'count':>8}{'p50':>7}{'p95':>7}{'p99':>7}  (ms)")
    for name, figures in sorted(load["by_name"].items(), key=lambda item: -item[1]["requests"]):
        say(
            f"  {name:<24}{figures['requests']:>8}{figures['p50_ms']:>7}"
            f"{figures['p95_ms']:>7}{figures['p99_ms']:>7}"
        )


def _reports(load: dict, since: datetime.datetime, checks: Checks) -> None:
    from tickets.models import Ticket

    answered = {row["id"]: row["number"] for row in load["created"]}
    stored = dict(Ticket.objects.filter(pk__in=list(answered)).values_list("pk", "number"))
    missing = sorted(set(answered) - set(stored))
    renumbered = sorted(pk for pk in stored if stored[pk] != answered[pk])
    made = Ticket.objects.filter(created_at__gte=since).count()
    checks.check(
        not missing and not renumbered,
        f"every accepted report is a ticket ({len(answered)} reports, {len(stored)} found)",
        f"missing {missing[:10]}, other numbers {renumbered[:10]}",
    )
    checks.check(
        made == len(answered),
        f"no ticket without an accepted report ({made} made during the run)",
        f"{made} tickets for {len(answered)} accepted reports",
    )


def _transitions(load: dict, since: datetime.datetime, checks: Checks) -> None:
    from tickets.models import TicketEvent

    events = Counter(
        TicketEvent.objects.filter(created_at__gte=since, actor__isnull=False).values_list(
            "kind", flat=True
        )
    )
    accepted = load["accepted"]
    lines = []
    for action, kinds in EVENTS_OF_ACTION.items():
        written = sum(events[kind] for kind in kinds)
        lines.append((action, accepted.get(action, 0), written))
    wrong = [f"{a}: {n} accepted, {w} events" for a, n, w in lines if n != w]
    summary = ", ".join(f"{a} {n}" for a, n, _w in lines)
    checks.check(
        not wrong, f"every accepted transition is on a timeline ({summary})", "; ".join(wrong)
    )


def _timelines(checks: Checks) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH e AS (
                SELECT ticket_id, kind, from_status, to_status,
                       lag(to_status) OVER (PARTITION BY ticket_id ORDER BY id) AS previous,
                       row_number() OVER (PARTITION BY ticket_id ORDER BY id) AS n,
                       row_number() OVER (PARTITION BY ticket_id ORDER BY id DESC) AS last
                FROM tickets_ticketevent
            )
            SELECT
                (SELECT count(*) FROM tickets_ticket),
                (SELECT count(*) FROM tickets_ticket t
                  WHERE NOT EXISTS (SELECT 1 FROM e WHERE e.ticket_id = t.id)),
                (SELECT count(*) FROM e WHERE n = 1 AND kind <> 'opened'),
                (SELECT count(*) FROM e WHERE n > 1 AND from_status <> previous),
                (SELECT count(*) FROM e JOIN tickets_ticket t ON t.id = e.ticket_id
                  WHERE e.last = 1 AND e.to_status <> t.status)
            """
        )
        tickets, empty, first, broken, last = cursor.fetchone()
    checks.check(
        not (empty or first or broken or last),
        f"every timeline is consistent ({tickets} tickets)",
        f"{empty} without events, {first} not starting with 'opened', {broken} broken links, "
        f"{last} ending elsewhere than the ticket's status",
    )


def _outbox(checks: Checks) -> None:
    from tickets.models import TicketEvent

    waiting = TicketEvent.objects.filter(notified_at__isnull=True).count()
    total = TicketEvent.objects.count()
    checks.check(not waiting, f"every event was notified ({total} events)", f"{waiting} not")


def _dashboard(scenario: dict, base_url: str, checks: Checks) -> None:
    from django.utils import timezone

    from grids.models import Grid
    from tickets import states
    from tickets.models import Ticket

    today = timezone.localdate()
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time()))
    end = start + datetime.timedelta(days=1)
    differences = []
    for place in scenario["places"]:
        county = Grid.objects.get(pk=place["county"])
        request = urllib.request.Request(
            f"{base_url}/api/v1/dashboard/?grid={county.pk}&date_from={today}&date_to={today}",
            headers={"Authorization": f"Token {place['district']['token']}"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            board = json.loads(answer.read())
        tickets = Ticket.objects.filter(grid__tree_id=county.tree_id)
        opened_today = tickets.filter(created_at__gte=start, created_at__lt=end)
        direct = {
            "opened": opened_today.count(),
            "closed": tickets.filter(closed_at__gte=start, closed_at__lt=end).count(),
            "open_now": tickets.filter(status__in=states.OPEN).count(),
            "by_status": dict(Counter(opened_today.values_list("status", flat=True))),
        }
        shown = {key: board["tickets"][key] for key in ("opened", "closed", "open_now")}
        shown["by_status"] = {row["key"]: row["count"] for row in board["by_status"]}
        if shown != direct:
            differences.append(f"{place['key']}: dashboard {shown}, tickets {direct}")
    checks.check(
        not differences,
        f"dashboard counts equal the database's ({len(scenario['places'])} counties, today)",
        "; ".join(differences),
    )


def _errors(load: dict, checks: Checks) -> None:
    statuses = Counter()
    for _method, _name, status, count in load["answers"]:
        statuses[status] += count
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    shown = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
    checks.check(not server_errors, f"no 5xx ({shown})", f"{server_errors} answers 5xx")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--since", required=True, type=datetime.datetime.fromisoformat)
    options = parser.parse_args(argv)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")

    load = json.loads((options.output / "locust.json").read_text())
    scenario = json.loads((options.output / "scenario.json").read_text())
    _figures(load, say)
    say("Reconciliation:")
    checks = Checks(say)
    _reports(load, options.since, checks)
    _transitions(load, options.since, checks)
    _timelines(checks)
    _outbox(checks)
    _dashboard(scenario, options.base_url, checks)
    _errors(load, checks)
    result = "nothing lost" if not checks.failed else f"FAILED: {', '.join(checks.failed)}"
    say(f"Result: {result}.")
    (options.output / "reconciliation.json").write_text(
        json.dumps({"failed": checks.failed, "total": load["total"]}, indent=1)
    )
    return 0 if not checks.failed else 1


if __name__ == "__main__":
    sys.exit(main())
