"""Reads the figures off a dashboard page (as served, or as Chromium dumped its DOM) by their data-* marks."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

# Elements that never have an end tag; everything else the dashboard writes is closed explicitly.
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)

    @property
    def content(self) -> str:
        return "".join(self.text).strip()


@dataclass
class DashboardPage:
    # Elements with an id, by id.
    ids: dict[str, Element] = field(default_factory=dict)
    # checkpoint id ("" for the totals row) -> figure (inspections, persons, green, yellow, red) -> count
    checkpoints: dict[str, dict[str, int]] = field(default_factory=dict)
    # service id -> submissions
    services: dict[str, int] = field(default_factory=dict)
    # device id -> its row's data-online and data-problem, and the text of each data-field cell
    devices: dict[str, dict[str, str]] = field(default_factory=dict)

    def number(self, element_id: str) -> int:
        return int(self.ids[element_id].attrs["data-value"])


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = DashboardPage()
        self.stack: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        if "data-device" in element.attrs:
            self.page.devices[element.attrs["data-device"]] = {
                name: element.attrs[name] for name in ("data-online", "data-problem")
            }
        if tag not in _VOID:
            self.stack.append(element)
        elif "id" in element.attrs:
            self.page.ids[element.attrs["id"]] = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        while self.stack:
            element = self.stack.pop()
            self._close(element)
            if element.tag == tag:
                return

    def _nearest(self, attr: str) -> str | None:
        for element in reversed(self.stack):
            if attr in element.attrs:
                return element.attrs[attr]
        return None

    def _close(self, element: Element) -> None:
        if "id" in element.attrs:
            self.page.ids[element.attrs["id"]] = element
        if "data-figure" in element.attrs:
            figure = element.attrs["data-figure"]
            checkpoint, service = self._nearest("data-checkpoint"), self._nearest("data-service")
            if checkpoint is not None:
                self.page.checkpoints.setdefault(checkpoint, {})[figure] = int(element.content)
            elif service is not None:
                self.page.services[service] = int(element.content)
        if "data-field" in element.attrs:
            device = self._nearest("data-device")
            if device is not None:
                self.page.devices[device][element.attrs["data-field"]] = element.content


def parse_dashboard(html: str) -> DashboardPage:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.page
