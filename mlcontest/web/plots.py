"""A dataset's scatter plot as inline SVG: no image request, no chart library, crisp on a
projector. More than two features are projected on their two principal components."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from mlcontest.contest.regression import numeric_target

# Okabe-Ito: told apart by people with the common colour-vision deficiencies.
PALETTE = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#F0E442",
    "#999999",
    "#7F3C8D",
)
UNLABELLED = "#888888"
MAX_POINTS = 2000
WIDTH, HEIGHT, PAD = 360, 280, 34


@dataclass
class Plot:
    svg: SafeString
    x_label: str
    y_label: str
    legend: list[tuple[str, str]]


def project(
    features: Sequence[Sequence[float]], names: Sequence[str]
) -> tuple[list[tuple[float, float]], str, str]:
    """2-D coordinates for the points: the two features, or the first two principal axes."""
    if len(names) == 1:
        return [(row[0], 0.0) for row in features], names[0], ""
    if len(names) == 2:
        return [(row[0], row[1]) for row in features], names[0], names[1]
    import numpy as np

    data = np.asarray(features, dtype=float)
    centred = data - data.mean(axis=0)
    scale = centred.std(axis=0)
    centred = centred / np.where(scale > 0, scale, 1.0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ axes[:2].T
    return (
        [(float(x), float(y)) for x, y in coords],
        gettext("component 1"),
        gettext("component 2"),
    )


def scatter(
    features: Sequence[Sequence[float]],
    labels: Sequence[str | None],
    names: Sequence[str],
    title: str,
) -> Plot:
    """The points coloured by label (grey where the label is hidden), as an accessible SVG."""
    features, labels = list(features)[:MAX_POINTS], list(labels)[:MAX_POINTS]
    coords, x_label, y_label = project(features, names) if features else ([], "", "")
    return _draw(coords, labels, x_label, y_label, title)


def scatter_projected(shown: Sequence[Sequence[Any]], names: Sequence[str], title: str) -> Plot:
    """The same plot from points projected beforehand (``contest.columnar.preview``): a list
    of ``[x, y, label]``."""
    coords = [(float(x), float(y)) for x, y, _ in shown]
    labels = [label for _, _, label in shown]
    if len(names) == 1:
        x_label, y_label = names[0], ""
    elif len(names) == 2:
        x_label, y_label = names[0], names[1]
    else:
        x_label, y_label = gettext("component 1"), gettext("component 2")
    if not coords:
        x_label = y_label = ""
    return _draw(coords, labels, x_label, y_label, title)


def _draw(
    coords: Sequence[tuple[float, float]],
    labels: Sequence[str | None],
    x_label: str,
    y_label: str,
    title: str,
) -> Plot:
    known = sorted({label for label in labels if label is not None})
    colours = {label: PALETTE[index % len(PALETTE)] for index, label in enumerate(known)}
    legend = [(label, colours[label]) for label in known]
    summary = gettext("%(title)s: %(points)s points, %(classes)s classes") % {
        "title": title,
        "points": len(coords),
        "classes": len(known),
    }
    if numeric_target(known):  # a regression label: coloured by its range, low to high
        colours, legend = value_colours(known)
        # A screen reader hears what the colours say: a number's range, not a count of classes.
        values = [float(label) for label in known]
        summary = gettext(
            "%(title)s: %(points)s points, coloured by the label, from %(low)s to %(high)s"
        ) % {
            "title": title,
            "points": len(coords),
            "low": f"{min(values):g}",
            "high": f"{max(values):g}",
        }
    xs = [x for x, _ in coords] or [0.0]
    ys = [y for _, y in coords] or [0.0]
    x_min, x_max = min(xs), max(xs)
    y_min, y_max = min(ys), max(ys)
    x_span = (x_max - x_min) or 1.0
    y_span = (y_max - y_min) or 1.0
    circles = []
    for (x, y), label in zip(coords, labels, strict=True):
        px = PAD + (x - x_min) / x_span * (WIDTH - 2 * PAD)
        py = HEIGHT - PAD - (y - y_min) / y_span * (HEIGHT - 2 * PAD)
        colour = colours.get(label, UNLABELLED) if label is not None else UNLABELLED
        circles.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>')
    svg = (
        f'<svg class="scatter" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(summary)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(summary)}</title>"
        f'<rect x="{PAD}" y="{PAD / 2}" width="{WIDTH - 2 * PAD}" '
        f'height="{HEIGHT - 1.5 * PAD}" class="plot-area"/>'
        f'<g fill-opacity="0.8">{"".join(circles)}</g>'
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 6}" text-anchor="middle" class="axis">'
        f"{escape(x_label)}</text>"
        f'<text x="12" y="{HEIGHT / 2}" text-anchor="middle" class="axis" '
        f'transform="rotate(-90 12 {HEIGHT / 2})">{escape(y_label)}</text>'
        "</svg>"
    )
    return Plot(mark_safe(svg), x_label, y_label, legend)


# Viridis at five steps: ordered from dark to light, so a number's size reads as brightness.
RAMP = ("#440154", "#3B528B", "#21918C", "#5EC962", "#FDE725")


def value_colours(known: Sequence[str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Colours for numeric labels by five ranges of equal counts, and the legend of ranges."""
    ordered = sorted(known, key=float)
    colours: dict[str, str] = {}
    legend: list[tuple[str, str]] = []
    for step, colour in enumerate(RAMP):
        part = ordered[step * len(ordered) // len(RAMP) : (step + 1) * len(ordered) // len(RAMP)]
        if not part:
            continue
        colours.update((label, colour) for label in part)
        legend.append((f"{float(part[0]):g} to {float(part[-1]):g}", colour))
    return colours, legend
