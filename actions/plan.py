"""Every change is planned first, then confirmed, then executed from the plan.

A :class:`Plan` says what will change, the equivalent command, whether and how
it can be undone, and what to watch out for. The console and the CLI render it
with :func:`render` and confirm it the same way (Cancel / No is the default);
:func:`execute` runs it. Read-only mode is enforced here, once: a plan cannot
be made, and cannot run, while dockscope is read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from actions import guard
from actions.validate import ActionResult


@dataclass
class Plan:
    action: str  # "network create", "network rm", "daemon debug", ...
    title: str  # "Create network n1" (a question the confirmation asks)
    changes: list[str] = field(default_factory=list)  # what will change, one line each
    command: str = ""  # the equivalent docker / ip / shell command
    undo: str = ""  # how it can be undone, or why it cannot
    undo_command: str | None = None
    reversible: bool = False
    warnings: list[str] = field(default_factory=list)
    danger: bool = False  # stops containers, removes something in use, ...
    run: Callable[[], ActionResult] | None = field(default=None, repr=False, compare=False)

    def lines(self) -> list[str]:
        """The plan as plain lines (not yet sanitised: see :func:`render`)."""
        out = [self.title]
        out += [f"  will: {c}" for c in self.changes]
        if self.command:
            out.append(f"  command: {self.command}")
        if self.reversible:
            out.append(
                f"  undo: {self.undo}" + (f"  ({self.undo_command})" if self.undo_command else "")
            )
        else:
            out.append(f"  undo: {self.undo or 'cannot be undone'}")
        out += [f"  warning: {w}" for w in self.warnings]
        return out


def render(plan: Plan) -> str:
    """The plan as text safe for a terminal (every engine string cleaned)."""
    from inspectors.text import clean

    return "\n".join(clean(ln) for ln in plan.lines())


def refuse_if_read_only(what: str) -> None:
    """Raise ReadOnlyError: the one read-only check of every action."""
    guard.check_writable(what)


def execute(plan: Plan) -> ActionResult:
    """Run a confirmed plan (refused in read-only mode)."""
    guard.check_writable(plan.title[:1].lower() + plan.title[1:])
    if plan.run is None:
        raise ValueError(f"plan {plan.action!r} has nothing to run")
    res = plan.run()
    if res is not None and not res.undo_command and plan.undo_command:
        res.undo_command = plan.undo_command
    return res


__all__ = ["Plan", "render", "execute", "refuse_if_read_only"]
