"""Each setting described once (glo.config.SETTINGS), and refused input: whatever text a setting is
given (a command-line option, a sweep value, a form field), it either becomes a valid RunConfig or is
refused with a ConfigError naming that setting (on the command line: one line, exit 2)."""

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from glo.config import (
    FORM,
    INT_MAX,
    LIVE_PARAMS,
    OPTION_HELP,
    SETTINGS,
    SWEEPABLE,
    RunConfig,
    parse_setting,
)
from glo.errors import ConfigError

INTS = [name for name, s in SETTINGS.items() if s.kind in ("int", "images")]
# text a setting may be given: anything, and the near misses of numbers and choices
NUMBERISH = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["all", "ALL", " 7 ", "1_000", "0x10", "1e3", "-0", "+5", "", " ", "nan", "-inf", "l1",
                     "lap1", "folder", "mnist", "cuda", "adain", "14", "28", "256"]),
)
TEXT = st.one_of(NUMBERISH, st.text(max_size=12))


@pytest.mark.parametrize("key", INTS)
def test_every_integer_setting_is_bounded_with_the_bound_in_the_message(key):
    most = int(min(SETTINGS[key].maximum or INT_MAX, INT_MAX))  # none beyond INT_MAX (sqlite, torch)
    with pytest.raises(ConfigError) as exc:
        replace(RunConfig(), **{key: most + 1}).validate()
    assert exc.value.key == key and f"must be <= {most}" in str(exc.value)


def test_the_derived_tables():
    assert LIVE_PARAMS == ("sigma", "decay", "loss")
    assert [k for k, _ in FORM] == ["dataset", "sigma", "decay", "loss", "combine", "epochs", "batch_size",
                                    "n_images", "seed", "class_dim", "content_dim", "width"]
    assert {"sigma", "seed", "n_images", "class_dim", "dataset"} <= set(SWEEPABLE) and "name" not in SWEEPABLE
    assert list(OPTION_HELP)[:3] == ["dataset", "data_root", "download"]


def test_a_described_setting_reaches_every_front_end(capsys):
    """Adding a setting is one field: its flag is in glo run's, glo sweep's, glo serve's and glo-tui's
    --help, a sweepable one is read by glo sweep's --values, a form one is in the console's form."""
    from glo.cli.app import main
    from glo.cli.tui_cmd import main as tui_main
    from glo.sweep.manifest import parse_values
    from tui.widgets.chart import CHANGE_SYMBOL
    from tui.widgets.controls import FIELDS, LIVE

    for argv, entry in ((["run", "--help"], main), (["sweep", "--help"], main), (["serve", "--help"], main),
                        (["--help"], tui_main)):
        assert entry(argv) == 0
        out = capsys.readouterr().out
        for name in OPTION_HELP:
            assert SETTINGS[name].flag in out, (argv, name)
    for name in SWEEPABLE:
        value = getattr(RunConfig(), name)
        assert parse_values(name, str(value)) == [value]
    assert FIELDS == FORM and LIVE == LIVE_PARAMS and set(CHANGE_SYMBOL) == set(LIVE_PARAMS)


def _refused_or_valid(key: str, build) -> None:
    try:
        cfg = build()
    except ConfigError as exc:
        assert exc.key == key, (key, str(exc), exc.key)
        return
    assert isinstance(cfg, RunConfig)


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from([k for k, _ in FORM]), text=TEXT)
def test_a_form_field_is_a_valid_config_or_a_config_error_naming_it(key, text):
    _refused_or_valid(key, lambda: replace(RunConfig(), **{key: parse_setting(key, text)}).validate())


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(SWEEPABLE), texts=st.lists(TEXT, min_size=1, max_size=3))
def test_a_sweep_value_is_a_valid_config_or_a_config_error_naming_it(key, texts):
    from glo.sweep.manifest import parse_values, plan

    def build():
        grid = plan(RunConfig(), [(key, parse_values(key, ",".join(texts)))])
        return RunConfig.from_dict({**RunConfig().to_dict(), **grid[0]}).validate()

    _refused_or_valid(key, build)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from([k for k in OPTION_HELP if SETTINGS[k].kind != "bool"]), text=TEXT)
def test_a_command_line_option_is_a_valid_config_or_one_line_exit_2(key, text, monkeypatch, capsys, tmp_path):
    """glo-tui's options are glo run's, glo sweep's and glo serve's (glo.cli.options): the console is
    replaced by a stub that keeps the config it was given."""
    import glo.cli.console
    from glo.cli.tui_cmd import main

    assume("\x00" not in text)  # no command line can carry a NUL
    opened = []
    monkeypatch.setattr(glo.cli.console, "check_console", lambda: None)
    monkeypatch.setattr(glo.cli.console, "open_console", lambda root, config, **kw: opened.append(config) or 0)
    capsys.readouterr()
    code = main([SETTINGS[key].flag, text, "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    if code == 0:
        assert len(opened) == 1 and opened[0].validate() is opened[0] and err == ""
    else:
        assert code == 2 and not opened and err.count("\n") == 1 and err.startswith("glo-tui: error: ")
        assert key in err or SETTINGS[key].flag in err, err
        assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("argv,message", [
    (["run", "--headless", "--epochs", "1", "--n-images", "100", "--threads", "1", "--seed", str(2**64)],
     "seed must be <= 9223372036854775807; got 18446744073709551616"),
    (["run", "--headless", "--epochs", str(2**63)], "epochs must be <= 2147483647"),
    (["run", "--headless", "--batch-size", str(2**31)], "batch_size must be <= 2147483647"),
    (["run", "--headless", "--threads", "100000"], "threads must be <= 4096"),
    (["sweep", "--headless", "--param", "seed", "--values", f"1,{2**64}"], "seed must be <= 9223372036854775807"),
    (["sweep", "--headless", "--param", "class_dim", "--values", "8,100000"], "class_dim must be <= 65536"),
    (["serve", "--seed", str(2**63)], "seed must be <="),
    (["sample", "latest", "--seed", str(2**64)], "--seed must be <= 9223372036854775807"),
    (["analyze", "latest", "--heldout", str(2**63)], "--heldout must be at most 2147483647"),
])
def test_integers_beyond_what_torch_and_sqlite_hold_are_refused(argv, message, tmp_path, capsys):
    from glo.cli.app import main

    code = main([*argv, "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_one_command_line_parser():
    """glo-tui's options are glo's (glo.cli.tui_cmd): the console parses no command line of its own."""
    from pathlib import Path

    tui = Path(__file__).resolve().parent.parent / "tui"
    assert not [p.name for p in tui.rglob("*.py") if "argparse" in p.read_text()]


def test_glo_serve_hands_each_tab_its_settings_as_a_config(tmp_path, monkeypatch):
    """No argv round trip: glo serve's checked RunConfig reaches every tab's form as JSON."""
    import shlex

    import tui.app
    from tui.serve import console_command

    cfg = RunConfig(sigma=0.7, n_images="all", data_root="/a b/'c'", dataset="folder", epochs=3)
    argv = shlex.split(console_command(tmp_path, cfg))
    assert argv[1:3] == ["-m", "tui.app"] and argv[3] == str(tmp_path)
    opened = {}
    monkeypatch.setattr(tui.app, "run_console", lambda runs_dir, config: opened.update(runs=runs_dir, cfg=config) or 0)
    assert tui.app.serve_tab(argv[3:]) == 0
    assert opened == {"runs": str(tmp_path), "cfg": cfg}
