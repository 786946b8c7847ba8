"""Snapshots of the console with no run started (deterministic): main screen at 80x24 and 120x40."""

from __future__ import annotations

import pytest

from tui.app import create_app


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    app = create_app(tmp_path / "runs")
    app.animation_level = "none"
    return app


def test_main_screen_80x24(snap_compare, app):
    assert snap_compare(app, terminal_size=(80, 24))


def test_main_screen_120x40(snap_compare, app):
    assert snap_compare(app, terminal_size=(120, 40))


def test_invalid_input_80x24(snap_compare, app):
    async def type_bad_sigma(pilot):
        await pilot.pause()
        sigma = pilot.app.screen.query_one("#f-sigma")
        sigma.cursor_blink = False
        sigma.value = "-1"
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=type_bad_sigma)


def test_help_screen_80x24(snap_compare, app):
    assert snap_compare(app, terminal_size=(80, 24), press=["question_mark"])


def test_sweep_field_80x24(snap_compare, app):
    async def type_sweep(pilot):
        await pilot.pause()
        field = pilot.app.screen.query_one("#f-sweep")
        field.cursor_blink = False
        field.value = "sigma=0.01,0.3,2"
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=type_sweep)
