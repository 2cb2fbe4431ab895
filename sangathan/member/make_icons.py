"""Draw the member app's icons (PNG): ``python -m sangathan.member.make_icons``.

A ring of six members linked to one centre, white and saffron on the navy of the staff UI:
legible at 48 px, no lettering to translate. The "maskable" variant fills the square and keeps
the drawing inside the central 60 % that every launcher mask leaves visible. Needs Pillow
(a development tool only: the PNGs are committed).
"""

import math
from pathlib import Path

from PIL import Image, ImageDraw

NAVY = (31, 42, 68, 255)
SAFFRON = (234, 88, 12, 255)
WHITE = (255, 255, 255, 255)
OUT = Path(__file__).resolve().parent / "static" / "member" / "icons"
SCALE = 4  # draw large, shrink: smooth edges without anti-aliasing support in ImageDraw


def draw(size: int, *, maskable: bool, badge: bool = False) -> Image.Image:
    """The icon; ``badge``: white on transparent, the shape Android shows in the status bar."""
    big = size * SCALE
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if badge:
        extent = 0.95
    elif maskable:
        d.rectangle((0, 0, big, big), fill=NAVY)
        extent = 0.60  # the motif's diameter as a share of the side (safe zone: 80 % circle)
    else:
        d.rounded_rectangle((0, 0, big - 1, big - 1), radius=int(big * 0.22), fill=NAVY)
        extent = 0.74
    c = big / 2
    ring = big * extent / 2 * 0.78
    dot = big * extent / 2 * 0.22
    centre = dot * 1.35
    width = max(SCALE, int(big * 0.022))
    points = [
        (c + ring * math.cos(math.radians(a)), c + ring * math.sin(math.radians(a)))
        for a in range(-90, 270, 60)
    ]
    spoke = WHITE if badge else SAFFRON
    for i, (x, y) in enumerate(points):
        nx, ny = points[(i + 1) % len(points)]
        d.line((x, y, nx, ny), fill=WHITE, width=width)
        d.line((c, c, x, y), fill=spoke, width=width)
    for x, y in points:
        d.ellipse((x - dot, y - dot, x + dot, y + dot), fill=WHITE)
    d.ellipse((c - centre, c - centre, c + centre, c + centre), fill=spoke)
    return img.resize((size, size), Image.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
    draw(512, maskable=True).save(OUT / "icon-maskable-512.png", optimize=True)
    draw(180, maskable=True).convert("RGB").save(OUT / "apple-touch-icon.png", optimize=True)
    draw(96, maskable=False, badge=True).save(OUT / "badge-96.png", optimize=True)


if __name__ == "__main__":
    main()
