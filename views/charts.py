"""The assessment's charts as inline SVG geometry (drawn by templates/assessment/_parts.html):
horizontal bars, one row each, so that a page needs no script to show them."""
from __future__ import annotations

import unicodedata

from flask_babel import gettext as _

from workflows import assessment
from workflows.rules import current as current_rules
from workflows.words import label

CHART_WIDTH, LABEL_WIDTH, VALUE_WIDTH, ROW, BAR, TOP = 640, 160, 150, 30, 20, 26


def _short(text: str, room: int = 18) -> str:
    """Cut a label to about `room` columns (a wide character, as in Chinese, takes two)."""
    used, out = 0, ""
    for ch in text:
        used += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used > room:
            return out + "…"
        out += ch
    return out


def bar_chart(key: str, title: str, desc: str, rows: list[dict], low: float, high: float,
              ticks: list[tuple[float, str]]) -> dict:
    """Horizontal bars, one row each: {label, value, text, css}; the scale runs low..high."""
    plot = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    width = (high - low) or 1

    def x(value: float) -> float:
        return round(LABEL_WIDTH + (value - low) / width * plot, 1)

    zero = x(0)
    bars = []
    for index, row in enumerate(rows):
        y = TOP + index * ROW
        end = x(row["value"])
        bars.append({**row, "label": _short(row["label"]), "full_label": row["label"],
                     "x": min(zero, end), "width": max(abs(end - zero), 1), "y": y,
                     "height": BAR, "text_y": y + BAR - 4, "value_x": max(zero, end) + 6})
    height = TOP + max(len(rows), 1) * ROW + 8
    return {"id": f"chart-{key}", "title": title, "desc": desc, "width": CHART_WIDTH,
            "height": height, "bars": bars, "zero": zero, "label_x": LABEL_WIDTH - 8,
            "ticks": [{"x": x(value), "text": text} for value, text in ticks],
            "plot_top": TOP - 4, "plot_bottom": height - 8}


def grade_css(grade: dict) -> str:
    """The colour class of a grade: grade-0 for the best, and on down."""
    grades = current_rules().assessment.grades
    index = next((i for i, g in enumerate(grades) if g.label.get("en") == grade.get("en")),
                 len(grades) - 1)
    return f"grade-{index}"


def scores(cards: list[dict], month: str) -> dict:
    rules = current_rules().assessment
    values = [c["score"] for c in cards]
    low, high = min([0, *values]), max([rules.full_score, *values])
    ticks = [(0, "0")] + [(g.minimum, str(g.minimum)) for g in rules.grades
                          if g.minimum is not None and low <= g.minimum <= high]
    if all(value != rules.full_score for value, _text in ticks):
        ticks.append((rules.full_score, str(rules.full_score)))
    rows = [{"label": c["butler"]["name"], "value": c["score"], "css": grade_css(c["grade"]),
             "text": f"{c['score']} {label(c['grade'])}"} for c in cards]
    desc = _("; ").join(_("%(name)s: %(score)d (%(grade)s)", name=c["butler"]["name"],
                          score=c["score"], grade=label(c["grade"])) for c in cards)
    return bar_chart("scores", _("Scores per butler, %(month)s", month=month),
                     desc or _("No butlers."), rows, low, high, ticks)


def articles(cards: list[dict], month: str) -> dict:
    """Points lost per article of the standard, the lines that count only."""
    points: dict[int, int] = {}
    counts: dict[int, int] = {}
    for card in cards:
        for line in card["lines"]:
            if assessment.counts(line) and line["points"] < 0:
                points[line["article"]] = points.get(line["article"], 0) - line["points"]
                counts[line["article"]] = counts.get(line["article"], 0) + 1
    numbers = sorted(points)
    high = max(points.values(), default=0) or 1
    rows = [{"label": _("art. %(article)s", article=a), "value": points[a], "css": "deduction",
             "text": _("-%(points)d (%(count)d×)", points=points[a], count=counts[a])}
            for a in numbers]
    desc = _("; ").join(_("art. %(article)d: -%(points)d (%(count)d)", article=a,
                          points=points[a], count=counts[a]) for a in numbers)
    return bar_chart("articles", _("Points deducted by article, %(month)s", month=month),
                     desc or _("No deductions."), rows, 0, high, [(0, "0"), (high, str(high))])
