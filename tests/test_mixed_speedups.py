"""cosim/myhdl_speed.py: the arithmetic intbv.signed gives MyHDL's own result (value, bounds,
width) for unsigned words, slices and already-signed values of any width."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st
from myhdl import intbv

from vta.cosim import myhdl_speed


def same(a, b):
    return (int(a), a.min, a.max, len(a)) == (int(b), b.min, b.max, len(b))


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 300), st.data())
def test_signed_matches_myhdl(width, data):
    v = data.draw(st.integers(0, (1 << width) - 1))
    word = intbv(v)[width:]
    assert same(myhdl_speed.signed(word), myhdl_speed._original_signed(word))
    m = 1 << (width - 1)
    s = intbv(data.draw(st.integers(-m, m - 1)), min=-m, max=m)
    assert same(myhdl_speed.signed(s), myhdl_speed._original_signed(s))
    if width > 2:   # a slice of a wider word, as the RTL takes lanes
        lane = intbv(v)[width:][width - 1:1]
        assert same(myhdl_speed.signed(lane), myhdl_speed._original_signed(lane))


def test_installed():
    assert intbv.signed is myhdl_speed.signed
