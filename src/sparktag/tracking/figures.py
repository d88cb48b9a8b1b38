"""The matplotlib side of the training charts: figures, axes, legends, line styles, saving.

Figures are built with :class:`matplotlib.figure.Figure` and saved by the Agg canvas, never through pyplot,
so drawing neither changes the caller's backend nor opens windows; matplotlib is imported on first use.
What is plotted is :mod:`sparktag.tracking.charts`'s business; this module only knows how it looks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparktag.core.chunks import split_tag

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100


def label_key(label: str) -> tuple[str, int, str]:
    """Sort key grouping a type's tags: ``B-LOC, I-LOC, B-PER, ...``; entity types sort by name."""
    prefix, entity = split_tag(label)
    if not entity:  # an entity type (``PER``) or a tag without a prefix
        return (label, -1, "")
    return (entity, "SBIE".find(prefix) if prefix in "SBIE" else 4, prefix)


def new_figure(width_in: float, height_in: float) -> Figure:
    """An empty figure of that size (inches), laid out by matplotlib's constrained layout."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")


def save_figure(fig: Figure, path: str | Path) -> str:
    """Write ``fig`` to ``path`` (its folder is created) in the format of the suffix; the path written."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)  # attach the Agg canvas explicitly: no pyplot, whatever the global backend
    fig.savefig(out, dpi=DPI, format=_image_format(out))
    return str(out)


def _image_format(path: Path) -> str:
    """The file's format from its suffix (``.jpg`` as the workshop notebooks use it), PNG by default."""
    suffix = path.suffix.lower().lstrip(".")
    return {"jpg": "jpeg", "jpeg": "jpeg", "svg": "svg", "pdf": "pdf"}.get(suffix, "png")


def style_axes(ax: Axes, title: str, xlabel: str, xs: Sequence[int], ylim: bool = True) -> None:
    """Title, x label, grid and integer epoch ticks; scores (``ylim``) on a 0..1 axis."""
    from matplotlib.ticker import MaxNLocator

    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.grid(True, alpha=0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(xs) == 1:
        ax.set_xlim(xs[0] - 0.5, xs[0] + 0.5)
    if ylim:
        ax.set_ylim(-0.02, 1.02)


def suptitle(fig: Figure, title: str, graph: str | None) -> None:
    """The figure's title, with the network's graph file name (no folders) under it when known."""
    name = str(graph).replace("\\", "/").split("/")[-1] if graph else None
    fig.suptitle(f"{title}\n{name}" if name else title, fontsize=13)


def line_styles(labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    """A color per entity type and a line style per prefix, so ``B-PER`` and ``I-PER`` read as a pair."""
    import matplotlib as mpl

    types = sorted({label_key(label)[0] for label in labels})
    palette = mpl.colormaps["tab10" if len(types) <= 10 else "tab20"]  # integer lookup: the i-th color
    dashes = {"B": "-", "S": "-", "I": "--", "E": ":"}
    markers = {"B": "o", "S": "o", "I": "s", "E": "^"}
    styles = {}
    for label in labels:
        prefix, entity = split_tag(label)
        color = palette(types.index(label_key(label)[0]) % palette.N)
        styles[label] = {
            "color": color,
            "linestyle": dashes.get(prefix, "-") if entity else "-",
            "marker": markers.get(prefix, "o") if entity else "o",
        }
    return styles


def legend(fig: Figure, axes: Any, order: Sequence[str], title: str) -> None:
    """One legend for the whole figure, right of the plots, entries in ``order``."""
    handles: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    names = [name for name in order if name in handles]
    fig.legend([handles[n] for n in names], names, loc="outside right upper", title=title)
