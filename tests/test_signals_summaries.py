"""What a control chart's signals say in words (metrics.signal_runs), on hand-made chart days."""

from datetime import date, timedelta

from dashboard import metrics as m


def chart(rates, *, centre=0.5, signals=None, phases=None, mature=None):
    start = date(2013, 12, 2)
    return [
        {
            "date": start + timedelta(days=i),
            "n": 0 if r is None else 10,
            "x": 0 if r is None else round(r * 10),
            "rate": r,
            "mature": True if mature is None else mature[i],
            "phase": None if phases is None else phases[i],
            "centre": centre,
            "signal": (signals or {}).get(i),
        }
        for i, r in enumerate(rates)
    ]


def test_a_shift_is_reported_from_the_first_day_of_its_run():
    # Dec 2-9: 8 days below; the 8th is the first flagged; the run ends on a day on the centre line
    days = chart([0.4] * 9 + [0.5, 0.4], signals={7: "shift_down", 8: "shift_down"})
    assert m.signal_runs(days) == [
        {"kind": "shift_down", "first": date(2013, 12, 2), "last": date(2013, 12, 10), "days": 9}
    ]


def test_a_day_without_units_neither_breaks_nor_joins_a_run():
    rates = [0.6] * 4 + [None] + [0.6] * 4
    days = chart(rates, signals={8: "shift_up"})
    assert m.signal_runs(days) == [
        {"kind": "shift_up", "first": date(2013, 12, 2), "last": date(2013, 12, 10), "days": 8}
    ]


def test_a_new_phase_starts_a_new_run():
    phases = [None] * 8 + ["R1"] * 2
    days = chart([0.4] * 10, signals={7: "shift_down"}, phases=phases)
    assert m.signal_runs(days) == [
        {"kind": "shift_down", "first": date(2013, 12, 2), "last": date(2013, 12, 9), "days": 8}
    ]


def test_points_beyond_a_limit_on_successive_days_are_one_stretch():
    days = chart([0.9, 0.9, 0.5, 0.9, 0.1], signals={0: "above", 1: "above", 3: "above", 4: "below"})
    assert m.signal_runs(days) == [
        {"kind": "above", "first": date(2013, 12, 2), "last": date(2013, 12, 3), "days": 2},
        {"kind": "above", "first": date(2013, 12, 5), "last": date(2013, 12, 5), "days": 1},
        {"kind": "below", "first": date(2013, 12, 6), "last": date(2013, 12, 6), "days": 1},
    ]


def test_immature_days_say_nothing():
    days = chart([0.9, 0.9], signals={}, mature=[True, False])
    assert m.signal_runs(days) == []
    assert m.signal_runs([]) == []
