"""``httpops demo --window``: a few seconds of frames on SDL's dummy driver, last frame saved."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from httpops.demo import run_demo

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
pygame = pytest.importorskip("pygame", reason="pygame-ce is not installed (demo extra)")


def test_window_demo_draws_a_frame_that_is_not_blank(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    frame = tmp_path / "frame.png"
    out = io.StringIO()
    report = run_demo(seconds=0.6, out=out, mode="window", save_frame=str(frame))
    assert report.exit_code == 0, out.getvalue()
    assert report.frames >= 30

    pygame.display.init()  # image.load of a PNG needs no window, but be explicit
    try:
        image = pygame.image.load(str(frame))
    finally:
        pygame.display.quit()
    assert image.get_size() == (800, 480)
    background = image.get_at((2, 2))
    colours = set()
    differing = 0
    for y in range(0, 480, 4):
        for x in range(0, 800, 4):
            colour = tuple(image.get_at((x, y)))
            colours.add(colour)
            differing += colour != tuple(background)
    assert len(colours) >= 8  # text, sprite, green bars, the four images...
    assert differing >= 1500  # a good share of the 24000 samples is drawn on
    # The four downloaded images sit in a row near the bottom; each is a checkerboard.
    image_colours = {tuple(image.get_at((16 + 76 * i + 4, 384))) for i in range(4)}
    assert len(image_colours) == 4 and tuple(background) not in image_colours
