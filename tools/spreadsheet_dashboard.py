"""The Collections dashboard of Odoo's Dashboards app, from a description.

The dashboard is an o-spreadsheet document (format 18.5.10, as Odoo 19's own
dashboards): live Odoo charts and pivots on the add-on's reporting models,
answering the global filters *Period* and *Process*. This script writes it
to collections_automation_spreadsheet/data/files/collections_dashboard.json;
the tests check that the file is what it writes, so change the description
here, then run:

    python3 tools/spreadsheet_dashboard.py
"""

import json
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "collections_automation_spreadsheet" / "data" / "files" / "collections_dashboard.json"
FORMAT_VERSION = "18.5.10"
OPEN_STATES = ["running", "paused", "escalated"]
PROMISE_AND_DISPUTE_ACTIONS = ["promise", "promise_kept", "promise_broken", "dispute", "dispute_resolved"]

# The global filters, and the field each model answers them with.
# No period by default: the KPI trends keep the last twelve months, the one
# in progress included (Odoo's "Last 12 Months" would leave that one out).
PERIOD_FILTER = {"id": "period", "type": "date", "label": "Period"}
PROCESS_FILTER = {
    "id": "process",
    "type": "relation",
    "label": "Process",
    "modelName": "collection.process",
    "defaultValueDisplayNames": [],
}
FILTER_FIELDS = {
    "collection.kpi.period": {"period": ("date_from", "date")},
    "collection.kpi.period.stage": {"period": ("date_from", "date"), "process": ("process_id", "many2one")},
    "collection.analysis": {"period": ("enrolled_on", "date"), "process": ("process_id", "many2one")},
    "collection.event": {"period": ("date", "datetime"), "process": ("process_id", "many2one")},
}
# The open collections are counted today, whatever the period.
CURRENT = "current"

# Key figures: (label, model, domain, measure, aggregator, filters).
SCORECARDS = [
    (
        "Cash collected",
        "collection.kpi.period",
        [["period_type", "=", "month"]],
        "cash_collected",
        "sum",
        None,
    ),
    (
        "Outstanding in collections",
        "collection.analysis",
        [["state", "in", OPEN_STATES]],
        "amount_outstanding",
        "sum",
        CURRENT,
    ),
    ("Open collections", "collection.analysis", [["state", "in", OPEN_STATES]], "__count", "sum", CURRENT),
]

# A month's stage lines, but the one of what was paid before any stage ran
# (a line keeps its stage's name when the stage is deleted).
STAGE_LINES = ["&", ["period_type", "=", "month"], ["stage_name", "!=", False]]

# Charts, two to a row unless wide: (title, type, model, domain, group by,
# measure, options).
CHARTS = [
    (
        "Cash collected by week",
        "odoo_bar",
        "collection.kpi.period",
        [["period_type", "=", "week"]],
        ["date_from:week"],
        "cash_collected",
        {"wide": True},
    ),
    (
        "DSO (countback) by month",
        "odoo_line",
        "collection.kpi.period",
        [["period_type", "=", "month"]],
        ["date_from:month"],
        "dso_countback",
        {},
    ),
    (
        "CEI (%) by month",
        "odoo_line",
        "collection.kpi.period",
        [["period_type", "=", "month"]],
        ["date_from:month"],
        "cei",
        {},
    ),
    (
        "Cash collected after each stage",
        "odoo_bar",
        "collection.kpi.period.stage",
        STAGE_LINES,
        ["stage_name", "process_id"],
        "cash_collected",
        {"stacked": True},
    ),
    (
        "Collections reaching each stage",
        "odoo_bar",
        "collection.kpi.period.stage",
        STAGE_LINES,
        ["stage_name", "process_id"],
        "reached",
        {"stacked": True},
    ),
    (
        "Collections by state",
        "odoo_pie",
        "collection.analysis",
        [],
        ["state"],
        "__count",
        {"filters": CURRENT},
    ),
    (
        "Outstanding by process",
        "odoo_bar",
        "collection.analysis",
        [["state", "in", OPEN_STATES]],
        ["process_id"],
        "amount_outstanding",
        {"filters": CURRENT},
    ),
    (
        "Promises and disputes by month",
        "odoo_bar",
        "collection.event",
        [["action", "in", PROMISE_AND_DISPUTE_ACTIONS]],
        ["date:month", "action"],
        "__count",
        {"wide": True, "stacked": True},
    ),
]

# The aging table: open receivables on each month's last day, by days late.
AGING_MEASURES = ["aging_current", "aging_1_30", "aging_31_60", "aging_61_90", "aging_over_90"]
AGING_TITLE = "Aging at each month end"
AGING_MONTHS = 12

CHART_WIDTH, WIDE_CHART_WIDTH, CHART_HEIGHT = 490, 1000, 300
SCORECARD_WIDTH, SCORECARD_HEIGHT = 320, 110
ROWS_PER_CHART = 14  # rows of 23 px from a chart's top to the next one's
TITLE_STYLE, TEXT_STYLE = 1, 2


def _id(*names):
    """A stable identifier: the file changes only when the description does."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "collections_automation/dashboard/" + "/".join(names)))


def _field_matching(model, filters=None):
    if filters == CURRENT:
        return {}
    matching = {}
    for filter_id, (chain, field_type) in FILTER_FIELDS[model].items():
        matching[filter_id] = {"chain": chain, "type": field_type}
        if field_type in ("date", "datetime"):
            matching[filter_id]["offset"] = 0
    return matching


def _chart(title, chart_type, model, domain, group_by, measure, options):
    chart_id = _id("chart", title)
    definition = {
        "title": {"text": title, "bold": True, "fontSize": 16, "color": "#01666B"},
        "background": "#FFFFFF",
        "legendPosition": "top" if len(group_by) > 1 or chart_type == "odoo_pie" else "none",
        "metaData": {
            "groupBy": group_by,
            "measure": measure,
            "order": None,
            "resModel": model,
            "mode": chart_type.removeprefix("odoo_"),
        },
        "searchParams": {
            "comparison": None,
            "context": {},
            "domain": domain,
            "groupBy": group_by,
            "orderBy": [],
        },
        "type": chart_type,
        "dataSets": [{} for _group in group_by],
        "chartId": chart_id,
        "fieldMatching": _field_matching(model, options.get("filters")),
    }
    if chart_type in ("odoo_bar", "odoo_line"):
        definition.update(verticalAxisPosition="left", stacked=bool(options.get("stacked")))
    if chart_type == "odoo_line":
        definition.update(cumulatedStart=False, fillArea=True)
    return chart_id, definition


def _scorecard(label, position):
    chart_id = _id("scorecard", label)
    return {
        "id": chart_id,
        "width": SCORECARD_WIDTH,
        "height": SCORECARD_HEIGHT,
        "tag": "chart",
        "data": {
            "title": {"text": label, "color": "#434343", "bold": True},
            "type": "scorecard",
            "background": "#EFF6FF",
            "baselineColorDown": "#DC6965",
            "baselineColorUp": "#00A04A",
            "baselineMode": "text",
            "keyValue": f"Data!B{position + 1}",
            "humanize": False,
            "chartId": chart_id,
        },
        "col": 0,
        "row": 0,
        "offset": {"x": position * (SCORECARD_WIDTH + 20), "y": 10},
    }


def _pivot(pivot_id, name, model, domain, measures, rows, filters=None):
    return {
        "type": "ODOO",
        "id": pivot_id,
        "formulaId": pivot_id,
        "name": name,
        "model": model,
        "domain": domain,
        "context": {},
        "measures": [
            {"id": f"{measure}:{aggregator}", "fieldName": measure, "aggregator": aggregator}
            for measure, aggregator in measures
        ],
        "rows": rows,
        "columns": [],
        "sortedColumn": None,
        "fieldMatching": _field_matching(model, filters),
    }


def _layout():
    """Cells, figures and pivots of the Dashboard sheet, and the Data
    sheet's cells the scorecards read."""
    cells, styles, figures, pivots, data_cells = {}, {}, [], {}, {}
    for position, (label, model, domain, measure, aggregator, filters) in enumerate(SCORECARDS):
        pivot_id = str(position + 1)
        pivots[pivot_id] = _pivot(pivot_id, label, model, domain, [(measure, aggregator)], [], filters)
        data_cells[f"A{position + 1}"] = f'=_t("{label}")'
        data_cells[f"B{position + 1}"] = f'=PIVOT.VALUE({pivot_id},"{measure}:{aggregator}")'
        figures.append(_scorecard(label, position))
    row, column = 6, 0
    for title, chart_type, model, domain, group_by, measure, options in CHARTS:
        wide = options.get("wide")
        if wide and column:
            row, column = row + ROWS_PER_CHART, 0
        chart_id, definition = _chart(title, chart_type, model, domain, group_by, measure, options)
        figures.append(
            {
                "id": chart_id,
                "width": WIDE_CHART_WIDTH if wide else CHART_WIDTH,
                "height": CHART_HEIGHT,
                "tag": "chart",
                "data": definition,
                # The right half starts 10 px into the fourth column (500 px).
                "col": 3 if column else 0,
                "row": row,
                "offset": {"x": 10 if column else 0, "y": 0},
            }
        )
        if wide or column:
            row, column = row + ROWS_PER_CHART, 0
        else:
            column = 1
    aging_id = str(len(pivots) + 1)
    pivots[aging_id] = _pivot(
        aging_id,
        AGING_TITLE,
        "collection.kpi.period",
        [["period_type", "=", "month"]],
        [(measure, "avg") for measure in AGING_MEASURES],
        [{"fieldName": "date_from", "granularity": "month", "order": "desc"}],
    )
    # Cells count from 1, figures' rows from 0: the title sits on the row
    # after the last chart.
    cells[f"A{row + 1}"] = f'=_t("{AGING_TITLE}")'
    styles[f"A{row + 1}"] = TITLE_STYLE
    # The months, newest first, without a total: balances do not add up.
    cells[f"A{row + 2}"] = f"=PIVOT({aging_id}, {AGING_MONTHS}, FALSE)"
    styles[f"A{row + 2}:F{row + 16}"] = TEXT_STYLE
    return cells, styles, figures, pivots, data_cells, row + 18


def build():
    cells, styles, figures, pivots, data_cells, row_count = _layout()
    return {
        "version": FORMAT_VERSION,
        "sheets": [
            {
                "id": _id("sheet", "Dashboard"),
                "name": "Dashboard",
                "colNumber": 7,
                "rowNumber": row_count,
                "rows": {},
                "cols": {
                    "0": {"size": 200},
                    "1": {"size": 150},
                    "2": {"size": 150},
                    "3": {"size": 150},
                    "4": {"size": 150},
                    "5": {"size": 150},
                    "6": {"size": 60},
                },
                "merges": [],
                "cells": cells,
                "styles": styles,
                "formats": {},
                "borders": {},
                "conditionalFormats": [],
                "dataValidationRules": [],
                "figures": figures,
                "tables": [],
                "areGridLinesVisible": False,
                "isVisible": True,
                "headerGroups": {"ROW": [], "COL": []},
                "comments": {},
            },
            {
                "id": _id("sheet", "Data"),
                "name": "Data",
                "colNumber": 2,
                "rowNumber": len(data_cells) // 2 + 1,
                "rows": {},
                "cols": {"0": {"size": 220}, "1": {"size": 140}},
                "merges": [],
                "cells": data_cells,
                "styles": {},
                "formats": {},
                "borders": {},
                "conditionalFormats": [],
                "dataValidationRules": [],
                "figures": [],
                "tables": [],
                "areGridLinesVisible": True,
                "isVisible": True,
                "headerGroups": {"ROW": [], "COL": []},
                "comments": {},
            },
        ],
        "styles": {
            str(TITLE_STYLE): {"textColor": "#01666b", "bold": True, "fontSize": 16},
            str(TEXT_STYLE): {"textColor": "#434343", "verticalAlign": "middle"},
        },
        "formats": {},
        "borders": {},
        "revisionId": "START_REVISION",
        "uniqueFigureIds": True,
        "settings": {},
        "pivots": pivots,
        "pivotNextId": len(pivots) + 1,
        "customTableStyles": {},
        "globalFilters": [PERIOD_FILTER, PROCESS_FILTER],
        "lists": {},
        "listNextId": 1,
        "chartOdooMenusReferences": {
            figure["id"]: "collections_automation.collection_kpi_period_menu"
            for figure in figures
            if figure["data"].get("metaData", {}).get("resModel", "").startswith("collection.kpi.period")
        },
    }


def render():
    return json.dumps(build(), indent=1, ensure_ascii=False) + "\n"


def main():
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"written: {OUTPUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
