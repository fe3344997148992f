"""``manage.py bench --scale small|medium|full``: build a synthetic county in a database of
its own and measure the figures of issue 8 (see ``bench/README.md``).

The command builds (or, with ``--reuse``, finds) the county, then measures in a child
process of its own, so that ``peak_rss_mb`` is the memory of measuring and not of
building; the child is this command again with ``--child``. It prints the figures with
their goals, and the growth over the scales measured so far, and writes them to
``bench/results.json``.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from bench import database, dataset, report
from bench.measure import GROUPS, Context, measure
from bench.scales import SCALES

DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "results.json"


class Command(BaseCommand):
    help = (
        "Build a synthetic county (tiny, small, medium or full) in a separate bench "
        "database and measure the dashboard, the ticket list, ticket opening, the "
        "escalation sweep, locate and the import; write bench/results.json."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=list(SCALES), default="small")
        parser.add_argument(
            "--keep", action="store_true", help="Keep the bench database afterwards."
        )
        parser.add_argument(
            "--reuse",
            action="store_true",
            help="Measure the kept bench database if it holds this scale (build otherwise).",
        )
        parser.add_argument(
            "--only", choices=list(GROUPS), help="Measure one group of figures only."
        )
        parser.add_argument(
            "--profile",
            action="store_true",
            help="Print a pyinstrument profile of each group measured (use with --only).",
        )
        parser.add_argument(
            "--build-only", action="store_true", help="Build (implies --keep), do not measure."
        )
        parser.add_argument(
            "--output", default=str(DEFAULT_OUTPUT), help="Where to write the results."
        )
        parser.add_argument(
            "--database",
            help="The bench database: a PostgreSQL database name or an SQLite file "
            "(default: the configured name plus _bench, or var/bench.sqlite3).",
        )
        # the measuring child process
        parser.add_argument("--child", action="store_true", help="(internal)")
        parser.add_argument("--figures-file", help="(internal)")

    def handle(self, *args, **options) -> None:
        if options["child"]:
            self._child(options)
            return
        scale = SCALES[options["scale"]]
        target = database.default_target()
        if options["database"]:
            target = database.Target(target.vendor, options["database"])
        keep = options["keep"] or options["build_only"]
        self._say(f"Bench database: {target.label} ({target.vendor}), scale {scale.name}")
        try:
            meta = self._prepare(target, scale, reuse=options["reuse"])
            if options["build_only"]:
                self._say("Built; the bench database is kept (--build-only).")
                return
            figures = self._measure_in_child(target, scale, options)
            with database.using(target):
                version = database.server_version()
            results = report.assemble(
                figures,
                meta,
                vendor=target.vendor,
                database_version=version,
                measured_at=timezone.now().isoformat(),
            )
            if options["only"]:
                self._print(results, partial=True)
                return
            results = report.write(Path(options["output"]), results)
            self._print(results)
            self._say(f"Results written to {options['output']}")
        finally:
            if not keep:
                database.drop(target)
                self._say("Bench database dropped (use --keep to keep it).")

    # --- building ---------------------------------------------------------------------------

    def _prepare(self, target: database.Target, scale, *, reuse: bool) -> dict:
        if reuse and database.exists(target):
            with database.using(target):
                meta = database.read_meta()
                if meta and meta.get("scale") == scale.name:
                    self._say(f"Reusing the county built {meta['built_at']} ({meta['scale']}).")
                    self._migrate()
                    return self._refresh(meta)
            self._say("The kept bench database holds another scale: building afresh.")
        database.create(target)
        with database.using(target):
            self._migrate()
            self._say(f"Building the {scale.name} county…")
            started = time.monotonic()
            meta = dataset.build(scale, log=self._say)
            meta["rollups_version"] = _rollups_version()
            database.write_meta(meta)
            self._say(f"Built in {time.monotonic() - started:.0f} s.")
        return meta

    def _refresh(self, meta: dict) -> dict:
        """A reused county after code changes: rollups rebuilt when their definition
        changed, statistics refreshed for new indexes."""
        version = _rollups_version()
        if meta.get("rollups_version") != version:
            self._say("Rollups changed since the build: rebuilding them.")
            dataset.rebuild_rollups(self._say)
            meta["rollups_version"] = version
            database.write_meta(meta)
        dataset.refresh_statistics()
        return meta

    def _migrate(self) -> None:
        self._say("Migrating the bench database…")
        if connection.vendor == "sqlite":
            # a throwaway file: no waiting for the disk while building it
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous = OFF")
        call_command("migrate", interactive=False, verbosity=0)

    # --- measuring ----------------------------------------------------------------------------

    def _measure_in_child(self, target, scale, options) -> dict:
        self._say("Measuring (in a process of its own)…")
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
            figures_file = Path(handle.name)
        try:
            command = report.child_command(
                Path(settings.BASE_DIR) / "manage.py",
                scale=scale.name,
                database=target.name,
                figures_file=figures_file,
                only=options["only"],
                profile=options["profile"],
            )
            completed = subprocess.run(command, cwd=settings.BASE_DIR, check=False)
            if completed.returncode != 0:
                raise CommandError(f"Measuring failed (exit code {completed.returncode}).")
            return json.loads(figures_file.read_text())
        finally:
            figures_file.unlink(missing_ok=True)

    def _child(self, options) -> None:
        target = database.Target(connection.vendor, options["database"])
        database.switch_to(target)
        meta = database.read_meta()
        if meta is None:
            raise CommandError("The bench database holds no finished build.")
        ctx = Context(scale=SCALES[options["scale"]], meta=meta)
        figures = measure(ctx, only=options["only"], log=self._say, profile=options["profile"])
        Path(options["figures_file"]).write_text(json.dumps(figures))

    # --- output -------------------------------------------------------------------------------

    def _say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def _print(self, results: dict, *, partial: bool = False) -> None:
        self._say("")
        self._say(
            f"Scale {results['scale']} on {results['database']} "
            f"({results['grids']:,} grids; built in {results['build_seconds']} s)"
        )
        for line in report.table(results):
            self._say(line)
        if partial:
            return
        lines = report.growth(results)
        if lines:
            self._say("")
            self._say("Growth with the county (latest run of each scale):")
            for line in lines:
                self._say(line)


def _rollups_version() -> str | None:
    try:
        from governance.dashboard import rollups
    except ImportError:
        return None
    return rollups.VERSION
