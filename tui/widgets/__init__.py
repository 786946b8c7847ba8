"""Widgets of the console, one job each: controls, status, loss chart, reconstructions."""
