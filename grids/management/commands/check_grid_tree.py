from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from grids.models import Grid, PartyOrganization
from grids.tree_check import check_tree, repair_tree


class Command(BaseCommand):
    help = (
        "Verify the grid and party-organization trees (lft < rght, nesting matches the "
        "parent pointers, one root per tree); with --repair, rebuild them under the tree lock."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="Rebuild broken trees.")

    def handle(self, *args, repair: bool = False, **options):
        broken = False
        for model in (Grid, PartyOrganization):
            label = model._meta.verbose_name_plural
            problems = check_tree(model)
            if not problems:
                count = model._default_manager.count()
                self.stdout.write(self.style.SUCCESS(f"{label}: {count} nodes, tree valid"))
                continue
            for problem in problems[:50]:
                self.stdout.write(self.style.WARNING(f"{label}: {problem}"))
            if len(problems) > 50:
                self.stdout.write(f"{label}: … and {len(problems) - 50} more")
            if repair:
                repair_tree(model)
                remaining = check_tree(model)
                if remaining:
                    raise CommandError(f"{label}: still broken after repair: {remaining[0]}")
                self.stdout.write(self.style.SUCCESS(f"{label}: repaired"))
            else:
                broken = True
        if broken:
            raise CommandError("The tree is broken; run again with --repair to rebuild it.")
