"""One widget per pane of the console (see tui/app.py)."""
