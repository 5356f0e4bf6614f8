"""The console's text and chart helpers (pure Python, no browser)."""

import math

import pytest

from app.ui import format as fmt


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KB"), (1_258_291, "1.2 MB"), (None, "—"), (-1, "—"), (math.nan, "—")],
)
def test_size(value, text):
    assert fmt.size(value) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [(3.25, "3.2 ms"), (850, "850 ms"), (4200, "4.2 s"), (185_000, "3 min 05 s"), (3_720_000, "1 h 02 min"), (None, "—")],
)
def test_duration(ms, text):
    assert fmt.duration(ms) == text


def test_eta_says_why_it_is_unknown():
    assert fmt.eta(None) == "estimating…"
    assert fmt.eta(0) == "done"
    assert fmt.eta(61_000) == "1 min 01 s"
    assert fmt.eta(5000, running=False) == "—"


def test_numbers_rates_and_percentages():
    assert fmt.number(3016) == "3,016"
    assert fmt.number(True) == "—"
    assert fmt.rate(1137.4) == "1,137 items/s"
    assert fmt.rate(12.345) == "12.3 items/s"
    assert fmt.rate(None) == "—"
    assert fmt.percent(33.333) == "33.3 %"
    assert fmt.percent(120) == "100.0 %"
    assert fmt.percent(None) == "—"


def test_when_reads_iso_and_epoch_milliseconds():
    assert fmt.when("2025-07-24T15:38:40.821Z") == "2025-07-24 15:38:40 UTC"
    assert fmt.when(1_700_000_000_000) == "2023-11-14 22:13:20 UTC"
    assert fmt.when("not a date") == "not a date"
    assert fmt.when(None) == "—"


def test_record_label_prefers_name_then_id():
    assert fmt.record_label({"name": "<img src=x>", "id": "a"}) == "<img src=x>"
    assert fmt.record_label({"id": 17}) == "17"
    assert fmt.record_label({}) == "(record without name or id)"
    assert fmt.record_label("raw").startswith("(str:")


def test_error_lines_accepts_strings_and_objects():
    assert fmt.error_lines(None) == []
    assert fmt.error_lines("duplicate_id: 17") == ["duplicate_id: 17"]
    assert fmt.error_lines([{"loc": ["content"], "msg": "not a string"}]) == ["content: not a string"]


def test_field_changes_names_added_dropped_and_changed_fields():
    before = {"id": 17, "name": "S", "folder_id": "w"}
    after = {"id": "17", "name": "S", "folderId": "w", "tags": []}
    assert fmt.field_changes(before, after) == "adds folderId, tags; drops folder_id; changes id"
    assert fmt.field_changes(after, after) == "unchanged"
    assert fmt.field_changes("x", {"a": 1}) == "replaced"


def test_step_labels_and_version_paths():
    assert fmt.step_label("1.0.0->2.0.0") == "1.0.0 → 2.0.0"
    assert fmt.version_path("1.0.0", "3.0.0") == "1.0.0 → 3.0.0"
    assert fmt.version_path("3.0.0", "3.0.0") == "3.0.0"
    assert fmt.version_path(None, "3.0.0") == "none → 3.0.0"


def test_nice_max_rounds_up_to_a_readable_axis_top():
    assert fmt.nice_max(0) == 1.0
    assert fmt.nice_max(7) == 10
    assert fmt.nice_max(12) == 20
    assert fmt.nice_max(2.1) == 2.5
    assert fmt.nice_max(4999) == 5000


def test_chart_model_maps_both_series_into_the_plot_box():
    metrics = {
        "batches": {"series": [[100.0, 5.0, 100], [200.0, 10.0, 100], [300.0, 2.5, 100]]},
        "throughputSeries": [[100.0, 1000.0], [300.0, 2000.0]],
    }
    model = fmt.chart_model(metrics, 640, 220)
    left, top, right, bottom = model["box"]
    assert not model["empty"] and model["durationTop"] == 10 and model["rateTop"] == 2000
    points = [tuple(map(float, p.split(","))) for p in model["durations"].split()]
    assert points[0] == (left, bottom - (bottom - top) * 0.5)
    assert points[1] == (pytest.approx((left + right) / 2, abs=0.1), top)
    assert points[2][0] == right
    rates = [tuple(map(float, p.split(","))) for p in model["rates"].split()]
    assert rates[-1] == (right, top)
    assert all(left <= x <= right and top <= y <= bottom for x, y in points + rates)


def test_chart_model_skips_bad_points_and_handles_no_data():
    empty = fmt.chart_model({})
    assert empty["empty"] and empty["durations"] == "" and empty["rates"] == ""
    model = fmt.chart_model({"batches": {"series": [[0, None, 1], [1, math.inf, 1], [2, 3.0, 1], "junk"]}})
    assert model["durationCount"] == 1 and len(model["durations"].split()) == 1


def test_axis_numbers():
    assert fmt.axis_number(0) == "0"
    assert fmt.axis_number(2.5) == "2.5"
    assert fmt.axis_number(1500) == "1.5k"
    assert fmt.axis_number(20000) == "20k"
