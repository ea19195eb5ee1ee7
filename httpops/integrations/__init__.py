"""Small adapters that wire an [`Engine`][httpops.Engine] into a host's own loop.

Each one is a module of its own, imported explicitly so that only the
library you use gets imported:

* [`httpops.integrations.pygame`][httpops.integrations.pygame]: poll every frame; a custom event is
  posted as a wake-up *hint* for loops that block in ``pygame.event.wait``.
* [`httpops.integrations.pyglet`][httpops.integrations.pyglet]: ``pyglet.clock.schedule_interval``
  (arcade runs on pyglet's clock, so it works there too).
* [`httpops.integrations.tkinter`][httpops.integrations.tkinter]: a ``root.after`` loop.
* [`httpops.integrations.asyncio`][httpops.integrations.asyncio]: ``loop.call_soon_threadsafe`` from
  the engine's wake-up hook, and ``await adapter.wait(op)``.

In every case callbacks still run only inside ``poll()``, on the host's
thread; an engine has one wake-up hook, so use one adapter per engine.
"""

__all__: list[str] = []
