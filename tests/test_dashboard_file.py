"""The Collections dashboard's file is what tools/spreadsheet_dashboard.py
writes from its description: an edit by hand, or a description changed
without writing the file again, fails here."""

import json

import spreadsheet_dashboard


def test_the_dashboard_file_is_the_descriptions():
    assert spreadsheet_dashboard.OUTPUT.read_text(encoding="utf-8") == spreadsheet_dashboard.render(), (
        "run: python3 tools/spreadsheet_dashboard.py"
    )


def test_figures_do_not_overlap():
    """Two charts side by side stay in their half, and each row of charts
    starts below the one before."""
    sheet = json.loads(spreadsheet_dashboard.render())["sheets"][0]
    sizes = [
        column["size"] for _index, column in sorted(sheet["cols"].items(), key=lambda item: int(item[0]))
    ]
    boxes = []
    for figure in sheet["figures"]:
        left = sum(sizes[: figure["col"]]) + figure["offset"]["x"]
        top = figure["row"] * 23 + figure["offset"]["y"]
        boxes.append((left, top, left + figure["width"], top + figure["height"]))
    for index, (left, top, right, bottom) in enumerate(boxes):
        for other_left, other_top, other_right, other_bottom in boxes[index + 1 :]:
            assert right <= other_left or other_right <= left or bottom <= other_top or other_bottom <= top
