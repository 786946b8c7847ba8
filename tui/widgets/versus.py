"""The comparison's metric against a setting (``glo.analysis.versus``): shown only where the runs
compared differ in one or two settings; ``m`` in the comparison switches its metric with the curves'."""

from __future__ import annotations

from textual_plotext import PlotextPlot

from glo.analysis.versus import Versus
from glo.view.plots import add_versus


class VersusChart(PlotextPlot):
    """METRIC against the setting the runs differ in (a line per value of a second one); hidden without one."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.versus: Versus | None = None
        self.display = False

    def show(self, versus: Versus | None) -> None:
        self.versus = versus
        self.display = versus is not None
        if versus is not None:
            self.border_title = f"{versus.metric} against {versus.x}"
            self.replot()

    def replot(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if self.versus is not None:
            add_versus(plt, self.versus)
            plt.title(self.versus.title)
        self.refresh()
