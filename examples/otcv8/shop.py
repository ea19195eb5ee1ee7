"""Port of OTCv8 ``modules/game_shop/shop.lua`` (its HTTP parts) to the facade.

The Lua fills the shop from JSON (``processCategories``/``processStatus``)
and loads every ``http`` image with ``HTTP.downloadImage(url, function(path,
err) ... widget:setImageSource(path) end)``. In the Lua the JSON comes over
the game protocol (extended opcode 201); this port fetches the same JSON
with ``HTTP.getJSON(storeUrl)`` (``check``), since there is no game server
here. Widgets are :class:`~examples.otcv8.client.Widget` objects.
"""

from __future__ import annotations

from typing import Any

import httpops

from .client import Widget, g_logger

HTTP: httpops.HTTPFacade = httpops.HTTP
storeUrl = "http://127.0.0.1:8080/otcv8/shop"


class Category(Widget):
    def __init__(self, widget_id: str) -> None:
        super().__init__(widget_id)
        self.image = ""
        self.name = Widget("name")
        self.imageWidget = Widget("image")


class Offer(Widget):
    def __init__(self, widget_id: str) -> None:
        super().__init__(widget_id)
        self.imageWidget = Widget("image")
        self.title = Widget("title")
        self.description = Widget("description")
        self.offerId: Any = None


class Shop:
    def __init__(self) -> None:
        self.categories: list[Category] = []
        self.offers: list[Offer] = []
        self.points = Widget("points")
        self.ad = Widget("ad")


shop: Shop | None = None
CATEGORIES: list[dict[str, Any]] = []
STATUS: dict[str, Any] = {}
AD: dict[str, Any] = {}


def check() -> None:
    """The port's stand-in for ``sendAction("init")``: fetch the shop's JSON."""

    def on_json(data: Any, err: str | None) -> None:
        if err:
            g_logger.warning("HTTP error: " + err + " - " + storeUrl)
            return
        processCategories(data["categories"])
        if data.get("status"):
            processStatus(data["status"])

    HTTP.getJSON(storeUrl, on_json)


def createShop() -> None:
    global shop
    if shop:
        return
    shop = Shop()


def processCategories(data: list[dict[str, Any]]) -> None:
    global CATEGORIES
    if data == CATEGORIES:
        return
    CATEGORIES = data
    for category in data:
        addCategory(category)
    if CATEGORIES:
        changeCategory(1)


def processStatus(data: dict[str, Any]) -> None:
    global STATUS
    if data == STATUS:
        return
    STATUS = data
    assert shop is not None
    if data.get("ad"):
        processAd(data["ad"])
    if data.get("points"):
        shop.points.setText("Points: " + str(data["points"]))


def processAd(data: dict[str, Any]) -> None:
    global AD
    if data == AD:
        return
    AD = data
    assert shop is not None
    ad = shop.ad

    if data.get("image") and data["image"][:4].lower() == "http":

        def on_image(path: str | None, err: str | None) -> None:
            if err:
                g_logger.warning("HTTP error: " + err + " - " + data["image"])
                return
            ad.setText("")
            ad.setImageSource(path or "")

        HTTP.downloadImage(data["image"], on_image)
    elif data.get("text") and len(data["text"]) > 0:
        ad.setText(data["text"])


def addCategory(data: dict[str, Any]) -> None:
    assert shop is not None
    if data["type"] != "image":  # item and outfit categories need the game's sprites
        g_logger.error("Invalid shop category type: " + str(data["type"]))
        return
    category = Category("category_" + str(len(shop.categories) + 1))
    if data.get("image") and data["image"][:4].lower() == "http":

        def on_image(path: str | None, err: str | None) -> None:
            if err:
                g_logger.warning("HTTP error: " + err + " - " + data["image"])
                return
            category.imageWidget.setImageSource(path or "")

        HTTP.downloadImage(data["image"], on_image)
    else:
        category.imageWidget.setImageSource(data["image"])
    shop.categories.append(category)
    category.name.setText(data["name"])


def addOffer(category: int, data: dict[str, Any]) -> None:
    assert shop is not None
    if data["type"] != "image":
        g_logger.error("Invalid shop offer type: " + str(data["type"]))
        return
    offer = Offer(f"offer_{category}_{len(shop.offers) + 1}")
    if data.get("image") and data["image"][:4].lower() == "http":

        def on_image(path: str | None, err: str | None) -> None:
            if err:
                g_logger.warning("HTTP error: " + err + " - " + data["image"])
                return
            offer.imageWidget.setImageSource(path or "")

        HTTP.downloadImage(data["image"], on_image)
    elif data.get("image") and len(data["image"]) > 1:
        offer.imageWidget.setImageSource(data["image"])
    shop.offers.append(offer)
    offer.title.setText(f"{data['title']} ({data['cost']} points)")
    offer.description.setText(data["description"])
    offer.offerId = data["id"]


def changeCategory(index: int) -> None:
    assert shop is not None
    shop.offers.clear()
    for offer in CATEGORIES[index - 1]["offers"]:
        addOffer(index, offer)


def reset() -> None:
    """Forget the shop (between tests)."""
    global shop, CATEGORIES, STATUS, AD
    shop, CATEGORIES, STATUS, AD = None, [], {}, {}
