"""What every lifesign plot shares: the Agg backend, a font that has the labels' glyphs,
time as matplotlib dates, and one colour per rule."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

#: the same colour for a rule in every plot
RULE_COLOURS = {"no_usage": "tab:red", "meter_offline": "tab:gray", "meter_stuck": "tab:brown",
                "continuous_flow": "tab:blue", "abnormal_high": "tab:orange", "low_volume": "tab:pink"}
#: CJK fonts to look for, best first (Debian's fonts-noto-cjk, then common others)
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Noto Sans CJK JP")
_CJK_FILE_HINTS = ("NotoSansCJK", "SourceHanSans", "wqy-zenhei")
DPI = 100


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display on a server)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def font_rc(language: str) -> dict[str, object]:
    """rcParams for labels in ``language``: a CJK family first for Chinese."""
    if language == "en":
        return {}
    family = cjk_family()
    if family is None:
        log.warning("no CJK font found (install fonts-noto-cjk): Chinese labels will show as boxes")
        return {}
    # named, not through "sans-serif": each label keeps the family it was drawn with
    return {"font.family": [family, "DejaVu Sans"], "axes.unicode_minus": False}


def cjk_family() -> str | None:
    """A CJK font family matplotlib can use. Its font cache may predate the fonts (installed
    after matplotlib first ran), so the system's font files are added when missing."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    for path in font_manager.findSystemFonts():
        if any(hint in path for hint in _CJK_FILE_HINTS):
            font_manager.fontManager.addfont(path)
    known = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in known), None)


def date_x(ts: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Epoch seconds as matplotlib date numbers (an instant: the axis' zone decides how it reads)."""
    from matplotlib import dates

    micro = np.rint(np.asarray(ts, dtype=np.float64) * 1e6).astype(np.int64)
    return np.asarray(dates.date2num(micro.astype("datetime64[us]")), dtype=np.float64)


__all__ = ["DPI", "RULE_COLOURS", "cjk_family", "date_x", "font_rc", "pyplot"]
