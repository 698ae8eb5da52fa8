"""Read-only gatherers (engine, kernel, sandboxes, sockets, daemon, logs).

Never imports Textual: the CLI and the TUI both stand on these. Heavy modules
(docker, pyroute2, psutil) are imported lazily inside functions so that a
short CLI command pays only for what it uses.
"""
