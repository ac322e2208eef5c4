"""Today's checkpoint statistics, for staff: totals (人次, 人数, per verdict) and a bar chart by hour.

Opened from the checkpoint screen. The figures are read on a worker (``kiosk.stats.day_stats``) each time
the screen is shown and after each inspection while it is up; the chart is drawn with QPainter, two bars an
hour (人次 dark, 人数 light), over the hours that had inspections, widened to a working day.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kiosk.i18n import translate
from kiosk.stats import DayStats
from ui.widgets.counters_bar import counter_cell

# The hours shown at least (a working day), widened to any hour that had inspections.
DAY_HOURS = (7, 20)
INSPECTIONS_COLOUR = QColor("#0D3B66")
PERSONS_COLOUR = QColor("#64B5F6")
TOTALS = ("inspections", "persons", "green", "yellow", "red")


class HourChart(QWidget):
    """Bars by hour; ``set_stats(None)`` shows the empty message."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hourChart")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(280, 160)
        self.stats: DayStats | None = None
        self.legend = ("", "")
        self.empty_text = ""

    def set_stats(self, stats: DayStats | None) -> None:
        self.stats = stats
        self.update()

    def hours(self) -> range:
        first, last = DAY_HOURS
        if self.stats is not None:
            busy = [h.hour for h in self.stats.by_hour if h.inspections]
            if busy:
                first, last = min(first, *busy), max(last, *busy)
        return range(first, last + 1)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text_colour = self.palette().color(self.foregroundRole())
        font = QFont(self.font())
        font.setPixelSize(max(14, min(22, self.height() // 18)))
        painter.setFont(font)
        metrics = painter.fontMetrics()
        line = metrics.height()
        stats = self.stats
        if stats is None or not stats.inspections:
            painter.setPen(text_colour)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.empty_text)
            painter.end()
            return
        hours = list(self.hours())
        top = line * 2  # the legend, then the figures above the tallest bar
        left = metrics.horizontalAdvance("0000") + 8
        plot = QRectF(left, top, self.width() - left - 8, self.height() - top - line - 8)
        peak = max(h.inspections for h in stats.by_hour)
        slot = plot.width() / len(hours)
        bar = max(2.0, slot * 0.36)
        painter.setPen(text_colour)
        painter.drawLine(int(plot.left()), int(plot.bottom()), int(plot.right()), int(plot.bottom()))
        painter.drawText(
            QRectF(0, plot.top() - line / 2, left - 6, line),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            str(peak),
        )
        # Hour labels only as often as they fit side by side.
        every = max(1, int((metrics.horizontalAdvance("00") + 10) // slot) + 1)
        for i, hour in enumerate(hours):
            figures = stats.by_hour[hour]
            x = plot.left() + i * slot + (slot - 2 * bar) / 2
            for offset, value, colour in (
                (0.0, figures.inspections, INSPECTIONS_COLOUR),
                (bar, figures.persons, PERSONS_COLOUR),
            ):
                height = plot.height() * value / peak
                painter.fillRect(QRectF(x + offset, plot.bottom() - height, bar, height), colour)
            count = str(figures.inspections)
            if figures.inspections and slot >= metrics.horizontalAdvance(count):
                label_top = plot.bottom() - plot.height() * figures.inspections / peak - line
                painter.drawText(
                    QRectF(x + bar - slot / 2, label_top, slot, line), Qt.AlignmentFlag.AlignCenter, count
                )
            if i % every == 0:
                painter.drawText(
                    QRectF(plot.left() + i * slot, plot.bottom() + 4, slot * every, line),
                    Qt.AlignmentFlag.AlignLeft,
                    f"{hour:02d}",
                )
        x = plot.left()
        for colour, caption in zip((INSPECTIONS_COLOUR, PERSONS_COLOUR), self.legend, strict=True):
            painter.fillRect(QRectF(x, 4, line * 0.8, line * 0.8), colour)
            painter.drawText(QRectF(x + line, 0, plot.width(), line), Qt.AlignmentFlag.AlignLeft, caption)
            x += line * 1.5 + metrics.horizontalAdvance(caption) + 24
        painter.end()


class StatsScreen(QWidget):
    back_requested = Signal()

    def __init__(
        self, language: str, load: Callable[[Callable[[DayStats], None]], None], parent: QWidget | None = None
    ) -> None:
        """``load(deliver)`` reads today's figures off the GUI thread and calls ``deliver`` with them."""
        super().__init__(parent)
        self.setObjectName("statsScreen")
        self.language = language
        self._load = load
        self.stats: DayStats | None = None
        self.title_label = QLabel()
        self.title_label.setObjectName("statsTitle")
        self.title_label.setWordWrap(True)
        self.back_button = QPushButton()
        self.back_button.setObjectName("secondaryButton")
        self.back_button.clicked.connect(self.back_requested)
        self.values: dict[str, QLabel] = {}
        self.captions: dict[str, QLabel] = {}
        totals = QHBoxLayout()
        totals.setSpacing(8)
        for name in TOTALS:
            cell, value, caption = counter_cell(name)
            self.values[name] = value
            self.captions[name] = caption
            totals.addWidget(cell, 1)
        self.chart = HourChart()
        header = QHBoxLayout()
        header.addWidget(self.title_label, 1)
        header.addWidget(self.back_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 12, 24, 16)
        layout.setSpacing(12)
        layout.addLayout(header)
        layout.addLayout(totals)
        layout.addWidget(self.chart, 1)
        self.retranslate(language)

    def refresh(self) -> None:
        self._load(self.set_stats)

    def set_stats(self, stats: DayStats) -> None:
        self.stats = stats
        figures = {"inspections": stats.inspections, "persons": stats.persons} | stats.by_verdict
        for name in TOTALS:
            self.values[name].setText(str(figures.get(name, 0)))
        self.chart.set_stats(stats)

    def retranslate(self, language: str) -> None:
        self.language = language
        self.title_label.setText(translate("stats.title", language))
        self.back_button.setText(translate("stats.back", language))
        for name, caption in self.captions.items():
            caption.setText(translate(f"counters.{name}", language))
        self.chart.legend = (translate("stats.inspections", language), translate("stats.persons", language))
        self.chart.empty_text = translate("stats.empty", language)
        self.chart.update()

    def clear_personal_data(self) -> None:
        """Counts and hours only: nothing personal to drop."""
