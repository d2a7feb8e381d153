"""The exported RTL passes Verilator -Wall (with commented waivers), pyslang and Icarus."""
import pytest

from vta.cosim import lint
from vta.cosim.sim import exported

pytestmark = pytest.mark.rtl   # needs an HDL simulator


@pytest.fixture(scope="module")
def tiny_export(tiny_cfg):
    return exported(tiny_cfg)


@pytest.mark.parametrize("check", lint.CHECKS, ids=lambda c: c.__name__)
def test_tiny_export_clean(check, tiny_export):
    res = check(tiny_export)
    assert res.ok, "\n".join(res.messages)


def test_every_waiver_has_a_reason(tiny_export):
    text = (tiny_export / "lint.vlt").read_text().splitlines()
    for i, line in enumerate(text):
        if line.startswith("lint_off"):
            assert text[i - 1].startswith("// ") and len(text[i - 1]) > 20, line


@pytest.mark.slow
@pytest.mark.parametrize("check", lint.CHECKS, ids=lambda c: c.__name__)
def test_default_export_clean(check, default_cfg):
    res = check(exported(default_cfg))
    assert res.ok, "\n".join(res.messages)
