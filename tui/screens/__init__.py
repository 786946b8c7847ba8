"""Screens of the console: training (the main screen), saved runs, comparison, help."""
