"""The sizes of the synthetic county, from ``full`` (the issue's county) down to ``tiny``
(the CI smoke test).

``full`` is the county the product must stay fast in: about 10,000 grids over five levels
plus industry and dedicated grids, 200,000 households, 500,000 residents and 1,000,000
tickets over two years. ``medium`` is a tenth of it and ``small`` a hundredth; ``tiny`` only
proves the bench itself works. The measurements whose size the issue fixes (the import of
10,000 rows, the sweep over 10,000 tickets that just became overdue) keep that size down to
``medium`` and shrink below it so that ``small`` and ``tiny`` stay quick.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    # the tree: county › townships › communities › estates › micro grids
    townships: int
    communities_per_township: int
    estates_per_community: int
    micro_per_estate: float  # an average: estates get ⌊x⌋ or ⌈x⌉
    industry: int  # departments under the county
    dedicated_per_township: int  # schools, markets… at community level
    households: int
    residents: int
    tickets: int
    open_tickets: int  # of ``tickets``, still being handled at the reference moment
    just_overdue: int  # of ``open_tickets``, past a deadline minutes ago, not yet escalated
    reporters: int  # residents with an account who report and rate
    volunteers: int
    activities: int
    open_campaigns: int
    # sizes of the measurements
    import_rows: int
    tickets_to_open: int
    locate_points: int
    list_requests: int
    dashboard_runs: int
    sweep_runs: int = 3  # the full sweep takes minutes: once is enough there

    @property
    def communities(self) -> int:
        return self.townships * self.communities_per_township

    @property
    def estates(self) -> int:
        return self.communities * self.estates_per_community

    @property
    def micro(self) -> int:
        return round(self.estates * self.micro_per_estate)


SCALES: dict[str, Scale] = {
    "full": Scale(
        name="full",
        townships=12,
        communities_per_township=12,
        estates_per_community=10,
        micro_per_estate=5.6,
        industry=42,
        dedicated_per_township=5,
        households=200_000,
        residents=500_000,
        tickets=1_000_000,
        open_tickets=100_000,
        just_overdue=10_000,
        reporters=10_000,
        volunteers=20_000,
        activities=14_000,
        open_campaigns=10,
        import_rows=10_000,
        tickets_to_open=1_000,
        locate_points=5_000,
        list_requests=40,
        dashboard_runs=15,
        sweep_runs=1,
    ),
    "medium": Scale(
        name="medium",
        townships=5,
        communities_per_township=6,
        estates_per_community=6,
        micro_per_estate=4.4,
        industry=10,
        dedicated_per_township=3,
        households=20_000,
        residents=50_000,
        tickets=100_000,
        open_tickets=10_000,
        just_overdue=10_000 // 10,
        reporters=1_000,
        volunteers=2_000,
        activities=1_400,
        open_campaigns=3,
        import_rows=10_000,
        tickets_to_open=500,
        locate_points=5_000,
        list_requests=40,
        dashboard_runs=15,
    ),
    "small": Scale(
        name="small",
        townships=3,
        communities_per_township=3,
        estates_per_community=3,
        micro_per_estate=2.3,
        industry=4,
        dedicated_per_township=1,
        households=2_000,
        residents=5_000,
        tickets=10_000,
        open_tickets=1_000,
        just_overdue=100,
        reporters=100,
        volunteers=200,
        activities=140,
        open_campaigns=1,
        import_rows=1_000,
        tickets_to_open=200,
        locate_points=2_000,
        list_requests=30,
        dashboard_runs=10,
    ),
    "tiny": Scale(
        name="tiny",
        townships=2,
        communities_per_township=2,
        estates_per_community=2,
        micro_per_estate=2,
        industry=2,
        dedicated_per_township=1,
        households=160,
        residents=400,
        tickets=800,
        open_tickets=120,
        just_overdue=20,
        reporters=10,
        volunteers=20,
        activities=20,
        open_campaigns=1,
        import_rows=100,
        tickets_to_open=10,
        locate_points=200,
        list_requests=5,
        dashboard_runs=3,
    ),
}
