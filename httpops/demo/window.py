"""The demo in a pygame window: a moving sprite, progress bars and the downloaded images.

``httpops demo --window`` (needs ``pygame-ce``, in the ``demo`` extra). The
same :class:`~httpops.demo.loop.DemoGame` drives it; this view only draws,
once per frame, on the loop's thread. The sprite moves a fixed distance per
frame, so any stutter of the loop shows as a visible jump. Log lines still
go to the terminal. With ``SDL_VIDEODRIVER=dummy`` it runs without a display
(the tests do that and save the last frame with ``save_frame``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pygame

from .summary import human_rate

if TYPE_CHECKING:
    from .loop import DemoGame, View

__all__ = ["WindowView"]

SIZE = (800, 480)
_BACKGROUND = (18, 20, 28)
_TEXT = (220, 220, 230)
_DIM = (120, 124, 140)
_COLOURS = {
    "done": (80, 200, 120),
    "failed": (230, 80, 80),
    "canceled": (230, 190, 60),
    "in flight": (80, 170, 230),
}


class WindowView:
    """Draws each frame in a pygame window; lines go to ``lines`` (a text view).

    Args:
        lines: The view that prints log lines (a :class:`PlainView`).
        save_frame: Where to save the last frame as an image, or None.
        size: Window size in pixels.
    """

    def __init__(
        self, lines: View, save_frame: str | None = None, size: tuple[int, int] = SIZE
    ) -> None:
        self.lines = lines
        self.save_frame = save_frame
        self.size = size
        self._screen: pygame.Surface | None = None
        self._font: pygame.font.Font | None = None
        self._images: dict[str, pygame.Surface] = {}
        self._text_cache: dict[tuple[str, tuple[int, int, int]], pygame.Surface] = {}

    def start(self) -> None:
        """Open the window. Thread-safety: the loop's thread."""
        pygame.display.init()
        pygame.font.init()
        self._screen = pygame.display.set_mode(self.size)
        pygame.display.set_caption("httpops demo")
        self._font = pygame.font.Font(None, 22)

    def stop(self, game: DemoGame | None = None) -> None:
        """Draw the last frame, save it if asked, close the window. Thread-safety: loop's."""
        if self._screen is None:
            return
        if game is not None:
            self._draw(game)
            if self.save_frame:
                pygame.image.save(self._screen, self.save_frame)
        self._screen = None
        pygame.font.quit()
        pygame.display.quit()

    def line(self, text: str) -> None:
        """Print a log line on the terminal. Thread-safety: the loop's thread."""
        self.lines.line(text)

    def frame(self, game: DemoGame) -> bool:
        """Handle window events and draw; False when the window is closed."""
        for event in pygame.event.get():
            if event.type == pygame.QUIT or (
                event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE
            ):
                return False
        self._draw(game)
        pygame.display.flip()
        return True

    # -- drawing ---------------------------------------------------------------------

    def _text(self, text: str, pos: tuple[int, int], colour: tuple[int, int, int] = _TEXT) -> None:
        assert self._screen is not None and self._font is not None
        key = (text, colour)
        surface = self._text_cache.get(key)
        if surface is None:
            if len(self._text_cache) > 512:  # numbers change every frame: keep it bounded
                self._text_cache.clear()
            surface = self._text_cache[key] = self._font.render(text, True, colour)
        self._screen.blit(surface, pos)

    def _draw(self, game: DemoGame) -> None:
        screen = self._screen
        assert screen is not None
        screen.fill(_BACKGROUND)
        width = self.size[0]
        self._text(f"httpops demo - scene: {game.scene} - frame {game.frame}", (16, 12))
        # The sprite: a fixed step per frame, so a late frame is a visible jump.
        x = int(game.sprite_x / 640.0 * (width - 40)) + 20
        y = 70 + int(14 * math.sin(game.frame / 9.0))
        pygame.draw.circle(screen, (200, 90, 220), (x, y), 14)
        self._draw_timing(game, 110)
        self._draw_downloads(game, 190)
        self._draw_images(game, 380)

    def _draw_timing(self, game: DemoGame, top: int) -> None:
        assert self._screen is not None
        p50, p99, peak = game.frame_times.summary()
        self._text(
            f"frame time p50 {p50 * 1000:.2f} ms  p99 {p99 * 1000:.2f} ms  "
            f"max {peak * 1000:.2f} ms   poll p99 {game.poll_times.summary()[1] * 1000:.3f} ms",
            (16, top),
        )
        period = 1.0 / game.fps
        recent = game.frame_times.values[-180:]
        for i, value in enumerate(recent):  # a bar per frame; the line is the target
            height = min(40, int(value / (2 * period) * 40))
            colour = _COLOURS["done"] if value < 1.5 * period else _COLOURS["failed"]
            pygame.draw.line(self._screen, colour, (16 + i * 3, top + 70), (16 + i * 3,
                             top + 70 - height), 2)  # fmt: skip
        pygame.draw.line(self._screen, _DIM, (16, top + 50), (16 + 180 * 3, top + 50), 1)

    def _draw_downloads(self, game: DemoGame, top: int) -> None:
        assert self._screen is not None
        rows = [s for s in game.shots if s.kind == "download"]
        for i, shot in enumerate(rows):
            y = top + i * 30
            progress = (shot.progress or 0.0) / 100.0
            colour = _COLOURS[shot.state]
            self._text(shot.label.split(" (")[0], (16, y))
            pygame.draw.rect(self._screen, _DIM, (220, y, 300, 18), 1)
            pygame.draw.rect(self._screen, colour, (221, y + 1, int(298 * progress), 16))
            self._text(f"{progress * 100:5.1f}%  {human_rate(shot.speed)}  {shot.state}",
                       (540, y), colour)  # fmt: skip

    def _draw_images(self, game: DemoGame, top: int) -> None:
        assert self._screen is not None
        x = 16
        for shot in game.shots:
            if shot.kind != "image" or not shot.path or shot.label.endswith("(cache)"):
                continue
            image = self._images.get(shot.path)
            if image is None:
                # Loaded once, on the loop thread, from the cache file the worker wrote.
                image = pygame.transform.scale(pygame.image.load(shot.path), (64, 64))
                self._images[shot.path] = image
            self._screen.blit(image, (x, top))
            x += 76
        cached = sum(1 for s in game.shots if s.kind == "image" and s.label.endswith("(cache)"))
        self._text(f"images (cache hits: {cached})", (16, top - 24), _DIM)
