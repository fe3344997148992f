"""How many requests the fuzzers sent, by persona and phase: printed at the end of the run
(``conftest.py``), the figures the README's "Reliability" section quotes."""

from __future__ import annotations

from collections import Counter

SENT: Counter[tuple[str, str]] = Counter()


def record(persona: str, case) -> None:
    phase = case.meta.phase.name.value if case.meta is not None else "unknown"
    SENT[persona, phase] += 1


def summary() -> str:
    if not SENT:
        return ""
    by_persona = Counter()
    for (persona, _phase), count in SENT.items():
        by_persona[persona] += count
    parts = ", ".join(f"{persona} {count}" for persona, count in sorted(by_persona.items()))
    phases = ", ".join(f"{persona}/{phase} {n}" for (persona, phase), n in sorted(SENT.items()))
    return f"fuzz: {sum(SENT.values())} requests sent ({parts}; {phases})"
