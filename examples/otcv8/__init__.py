"""Python ports of the HTTP parts of real OTClient v8 modules, over the ``HTTP`` facade.

Each module follows its Lua original line by line where Python allows (the
names too: ``downloadFiles``, ``onHTTPResult``); ``docs/porting.md`` shows
them side by side. :mod:`examples.otcv8.client` stands in for the parts of
OTClient that are not HTTP (widgets, ``scheduleEvent``, ``g_logger``).
"""
