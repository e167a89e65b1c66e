"""The funnel page's state map: the tile grid's places, the per-state rates (metrics.state_rates) and the
figure's tiles (charts.state_tile_map), on a literal export with hand-computed conversions."""

import pytest
from exportkit import accepted, effectuation, enrollment, payment, write_export
from helpers import query

from dashboard import charts
from dashboard import metrics as m

LATE = "2013-12-31 00:00"

# the 50 states and DC, written out by hand
STATES_AND_DC = [
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "DC",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
]


def test_the_grid_places_the_50_states_and_dc_at_distinct_places_of_a_12_by_8_grid():
    assert len(STATES_AND_DC) == 51
    on_map = {s: p for s, p in charts.STATE_TILES.items() if s not in charts.ONLY_WITH_DATA}
    assert sorted(on_map) == sorted(STATES_AND_DC)
    assert len(set(charts.STATE_TILES.values())) == len(charts.STATE_TILES)  # PR included
    assert all(0 <= row < 8 and 0 <= col < 12 for row, col in charts.STATE_TILES.values())


def test_the_grid_has_the_published_layouts_known_places():
    # (row, column) from the top left, read off the NPR square tile grid by hand
    tiles = charts.STATE_TILES
    assert tiles["ME"] == (0, 11)  # top right
    assert tiles["AK"] == (0, 0)  # top left
    assert tiles["HI"] == (7, 0)  # bottom left
    assert tiles["WA"] == (2, 0) and tiles["OR"] == (3, 0) and tiles["CA"] == (4, 0)  # the west coast
    assert tiles["TX"] == (7, 3) and tiles["FL"] == (7, 8)  # the bottom row
    assert tiles["NC"] == (5, 6) and tiles["DC"] == (5, 8) and tiles["NH"] == (1, 11)
    assert tiles["PR"] == (7, 10)  # not in the published grid: south-east of FL


def journey(eid, state, issuer):
    """An enrollment that goes all the way to effectuation, one stage a day in November."""
    return dict(
        enrollment=enrollment(eid, state=state, issuer_id=issuer),
        transactions=[
            accepted(f"X{eid}", eid, "2013-11-02 09:00", "2013-11-02 12:00", issuer_id=issuer),
            effectuation(f"F{eid}", eid, "2013-11-05 09:00", issuer_id=issuer),
        ],
        payments=[
            payment(
                f"P{eid}",
                eid,
                redirected_at="2013-11-03 09:00",
                redirect_status="ok",
                paid_at="2013-11-04 09:00",
                payment_status="paid",
            )
        ],
    )


@pytest.fixture
def funnel(export):
    """NC: 4 applied, 3 plans selected, 2 go all the way. TX: 30 plans selected, 3 all the way.
    VA: 29 plans selected, none further. WY: 1 applied, no plan selected."""
    journeys = [journey("N1", "NC", "10001"), journey("N2", "NC", "10001")]
    journeys += [journey(f"T{i}", "TX", "20002") for i in range(3)]
    others = [
        enrollment("N3", state="NC"),
        enrollment("N4", state="NC", plan_selected_at=None),
        *(enrollment(f"T{i}", state="TX", issuer_id="20002") for i in range(3, 30)),
        *(enrollment(f"V{i}", state="VA", issuer_id="30003") for i in range(29)),
        enrollment("W1", state="WY", issuer_id="40004", plan_selected_at=None),
    ]
    engine = export(
        enrollments=[j["enrollment"] for j in journeys] + others,
        transactions=[t for j in journeys for t in j["transactions"]],
        payments=[p for j in journeys for p in j["payments"]],
    )
    return m.funnel(query(engine, LATE))


def test_state_rates_are_the_funnels_numbers(funnel):
    counts = {s: [x["count"] for x in stages] for s, stages in funnel.by_state.items()}
    assert counts == {
        "NC": [4, 3, 2, 2, 2, 2, 2],
        "TX": [30, 30, 3, 3, 3, 3, 3],
        "VA": [29, 29, 0, 0, 0, 0, 0],
        "WY": [1, 0, 0, 0, 0, 0, 0],
    }
    rates = m.state_rates(funnel, "effectuation_rate")  # effectuated ÷ plans selected; 30 needed to judge
    assert rates["NC"] == {"value": 2 / 3, "numerator": 2, "denominator": 3, "applied": 4, "judged": False}
    assert rates["TX"] == {"value": 0.1, "numerator": 3, "denominator": 30, "applied": 30, "judged": True}
    assert rates["VA"] == {"value": 0.0, "numerator": 0, "denominator": 29, "applied": 29, "judged": False}
    assert rates["WY"] == {"value": None, "numerator": 0, "denominator": 0, "applied": 1, "judged": False}
    # a stage's step conversion: plan selected ÷ applied
    rates = m.state_rates(funnel, "plan_selected")
    assert {s: (r["value"], r["judged"]) for s, r in rates.items()} == {
        "NC": (0.75, False),
        "TX": (1.0, True),
        "VA": (1.0, False),  # 29 applied: one short of 30
        "WY": (0.0, False),
    }
    # 834 sent ÷ plan selected, with a smaller threshold
    rates = m.state_rates(funnel, "sent_834", min_denominator=3)
    assert {s: (r["value"], r["denominator"], r["judged"]) for s, r in rates.items()} == {
        "NC": (2 / 3, 3, True),
        "TX": (0.1, 30, True),
        "VA": (0.0, 29, True),
        "WY": (None, 0, False),
    }


def test_an_unknown_measure_is_named():
    with pytest.raises(ValueError, match="unknown state map measure 'overall'; expected one of effectuation_rate"):
        m.state_rates(m.FunnelResult([], {}, {}, 0), "overall")


def tiles_of(trace) -> dict[str, tuple]:
    """state -> (row, column, text, hover) of one trace of the map."""
    return {
        c[0]: (row, round(base - 0.04, 9), text, c[1])
        for c, row, base, text in zip(trace.customdata, trace.y, trace.base, trace.text, strict=True)
    }


def test_the_figures_tiles_show_the_funnels_numbers(funnel):
    rates = m.state_rates(funnel, "sent_834", min_denominator=3)
    fig = charts.state_tile_map(rates, measure_label="834 sent", denominator_unit="plans selected", min_denominator=3)
    judged, too_few, empty = fig.data
    assert list(judged.marker.color) == [2 / 3, 0.1, 0.0]  # NC, TX, VA: coloured by the rate itself
    assert (judged.marker.cmin, judged.marker.cmax) == (0.0, 2 / 3)
    shown = tiles_of(judged)
    assert shown["NC"] == (
        5,
        6,
        "<b>NC</b><br>67%",
        "<b>NC</b>: 66.7% (2 of 3 plans selected)<br>Click to filter the page to NC",
    )
    assert shown["TX"][2:] == (
        "<b>TX</b><br>10%",
        "<b>TX</b>: 10.0% (3 of 30 plans selected)<br>Click to filter the page to TX",
    )
    assert shown["VA"][:3] == (4, 7, "<b>VA</b><br>0%")
    # WY: nobody selected a plan, so there is no rate to colour
    assert tiles_of(too_few) == {
        "WY": (3, 2, "<b>WY</b><br>–", "<b>WY</b>: no plans selected, so no rate<br>Click to filter the page to WY")
    }
    # the 47 other states and DC are grey, without PR (no enrollments there)
    greys = tiles_of(empty)
    assert sorted(greys) == sorted(set(STATES_AND_DC) - {"NC", "TX", "VA", "WY"})
    assert greys["ME"] == (0, 11, "ME", "<b>ME</b>: no enrollments in this view")
    assert empty.name == "no enrollments in this view" and judged.marker.showscale


def test_too_few_to_judge_is_hatched_and_says_so(funnel):
    rates = m.state_rates(funnel, "effectuation_rate")  # the page's threshold, 30 plans selected
    fig = charts.state_tile_map(
        rates, measure_label="Effectuation rate", denominator_unit="plans selected", min_denominator=30
    )
    judged, too_few, _ = fig.data
    assert list(judged.marker.color) == [0.1] and tiles_of(judged)["TX"][2] == "<b>TX</b><br>10%"
    # a single judged value: the scale spans 10 percentage points around it
    assert (judged.marker.cmin, judged.marker.cmax) == pytest.approx((0.05, 0.15))
    few = tiles_of(too_few)
    assert sorted(few) == ["NC", "VA", "WY"] and too_few.marker.pattern.shape == "/"
    assert few["NC"][2:] == (
        "<b>NC</b><br>67%",
        "<b>NC</b>: too few to judge, 3 plans selected (fewer than 30); 66.7% (2 of 3 plans selected)"
        "<br>Click to filter the page to NC",
    )
    assert few["VA"][2] == "<b>VA</b><br>0%"
    assert too_few.name == "too few to judge (fewer than 30 plans selected)"


def test_states_left_out_by_the_filter_say_so_and_pr_is_drawn_only_with_data():
    rates = {"PR": {"value": 0.5, "numerator": 20, "denominator": 40, "applied": 50, "judged": True}}
    fig = charts.state_tile_map(
        rates, measure_label="x", denominator_unit="plans selected", min_denominator=30, states_filter=("PR",)
    )
    judged, too_few, empty = fig.data
    assert tiles_of(judged)["PR"][:3] == (7, 10, "<b>PR</b><br>50%")
    assert tiles_of(empty)["NC"][3] == "<b>NC</b>: left out by the States filter"
    assert "PR" not in tiles_of(
        charts.state_tile_map({}, measure_label="x", denominator_unit="u", min_denominator=30).data[2]
    )
    # no judged state: no colour bar
    assert (
        not charts.state_tile_map({}, measure_label="x", denominator_unit="u", min_denominator=30)
        .data[0]
        .marker.showscale
    )


def test_states_the_grid_has_no_place_for_are_named():
    assert charts.state_map_off_grid(["NC", "GU", "nc", None]) == ["(none)", "GU", "nc"]


@pytest.mark.parametrize(
    "link,measure",
    [
        ({}, "effectuation_rate"),
        ({"map_measure": "Conversion: Reached payment page → Paid"}, "paid"),
        ({"map_measure": "no such measure", "breakdown": "no such tab"}, "effectuation_rate"),  # dropped
    ],
)
def test_the_measure_picker_reads_the_link(tmp_path, app_page, link, measure):
    root = write_export(
        tmp_path / "export",
        enrollments=[enrollment("N1", state="NC"), enrollment("T1", state="TX", issuer_id="20002")],
    )
    at = app_page("funnel", data_dir=root, **{"breakdown": "By state", **link})
    picker = at.selectbox(key="map_measure")
    assert picker.value == measure and len(picker.options) == 7
    assert not at.exception and not at.error
