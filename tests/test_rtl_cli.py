"""vta-rtl: bad input is one line on stderr and exit code 2; synth figures parse and fit."""
import pytest

from vta.fpga import synth
from vta.cosim.cli import main
from vta.cosim.sim import exported


@pytest.mark.parametrize("argv", [
    ["export", "no-such-config", "-o", "/tmp/x"],
    ["lint", "configs/no-such.yaml"],
    ["synth", "tiny", "--part", "xc9z999"],
    ["run", "/nonexistent/bundle.vtab"],
])
def test_bad_input_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vta-rtl: error:") and len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("argv", [
    ["run", "x.vtab", "--max-cycles", "-5"],
    ["run", "x.vtab", "--max-cycles", "0"],
    ["check", "tiny", "--workload", "gemm_4x4", "--max-cycles", "-1"],
])
def test_max_cycles_must_be_positive(argv, capsys):
    # a non-positive watchdog used to run (0 silently meant "default", -5 failed at once)
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert "--max-cycles: expected a positive integer, found" in capsys.readouterr().err


def test_bad_config_file(tmp_path, capsys):
    p = tmp_path / "bad.yaml"
    p.write_text("name: bad\narch: {log_inp_width: 3}\n")
    assert main(["export", str(p), "-o", str(tmp_path / "out")]) == 2
    assert "bad.yaml" in capsys.readouterr().err


def test_part_table():
    assert synth.part_info("xc7z020clg484-1")[2]["LUT"] == 53200
    assert synth.part_info("xczu3eg-sbva484-1-e")[1] == "xcup"
    assert synth.part_info("xczu7ev-ffvc1156-2-e")[2]["DSP"] == 1728


def test_classify_cells():
    use = synth.classify({"LUT6": 10, "LUT2": 5, "FDRE": 7, "FDSE": 1, "RAMB36E1": 3,
                          "RAMB18E1": 3, "DSP48E1": 2, "RAM64X1D": 4, "CARRY4": 9})
    assert use == {"LUT": 15, "LUTRAM": 4, "FF": 8, "BRAM36": 4.5, "DSP": 2, "URAM": 0}


@pytest.mark.rtl
def test_synth_tiny(tiny_cfg):
    res = synth.synth(exported(tiny_cfg), "xc7z020")
    assert res.fits()
    assert res.use["LUT"] > 500 and res.use["FF"] > 500
    assert res.use["DSP"] >= 1  # the 1x4x4 GEMM's multipliers


@pytest.mark.rtl
@pytest.mark.slow
def test_synth_default_fits_xc7z020_with_bram(default_cfg):
    res = synth.synth(exported(default_cfg), "xc7z020")
    assert res.fits(), res.table()
    # ~480 KiB of buffers: they must be block RAM, not LUTs/FFs
    assert res.use["BRAM36"] >= 100, res.table()
