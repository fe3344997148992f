"""Draw the app's icons (committed under ``static/pwa/``): a white 3 × 3 grid with its
centre cell filled, the grid a worker is responsible for, on the pages' red.

Run ``python -m governance.pwa.icons`` after changing the drawing; the PNGs are committed
so that nothing is drawn at run time. The maskable icon keeps its drawing inside the
central 80 % circle that launchers may crop to, on a background that fills the square.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

RED = (183, 28, 28, 255)
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)
SUPERSAMPLE = 4  # drawn large, then reduced: smooth edges without an anti-aliasing library
OUT = Path(__file__).resolve().parents[2] / "static" / "pwa"


def _draw(size: int, *, maskable: bool) -> Image.Image:
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), CLEAR)
    pen = ImageDraw.Draw(image)
    if maskable:
        pen.rectangle((0, 0, big, big), fill=RED)
        grid_side = big * 0.46  # well inside the safe circle (diameter 0.8)
    else:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.18, fill=RED)
        grid_side = big * 0.62
    line = max(round(big * 0.035), 2)
    left = top = (big - grid_side) / 2
    cell = grid_side / 3
    # the centre cell, filled
    pen.rectangle((left + cell, top + cell, left + 2 * cell, top + 2 * cell), fill=WHITE)
    half = line / 2
    frame = (left - half, top - half, left + grid_side + half, top + grid_side + half)
    pen.rectangle(frame, outline=WHITE, width=line)
    for i in (1, 2):
        offset = i * cell
        pen.line((left, top + offset, left + grid_side, top + offset), fill=WHITE, width=line)
        pen.line((left + offset, top, left + offset, top + grid_side), fill=WHITE, width=line)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def draw_all(folder: Path = OUT) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("icon-maskable-512.png", 512, True),
    ):
        path = folder / name
        _draw(size, maskable=maskable).save(path, format="PNG", optimize=True)
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in draw_all():
        print(written_path)  # noqa: T201 - a command's output
