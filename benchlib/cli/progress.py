"""Show which strategy is running and how far it is, on the terminal or as plain lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from benchlib.analyze import busy
from benchlib.analyze.runfacts import outcome_text
from benchlib.explain.wording import busy_mark
from benchlib.measure.running import Progress
from benchlib.model.results import RunResult


@dataclass
class Display:
    """Live progress on a terminal; one line per run anywhere else (CI logs, files)."""

    stream: TextIO
    total: int = 0  # runs planned (strategies x rounds)
    index: int = 0
    label: str = ""

    def expect(self, total: int) -> None:
        """Plan for this many runs in all (``--repeat auto`` adds rounds as it goes)."""
        self.total = max(self.total, total)

    def note(self, text: str) -> None:
        print(f"benchlib: warning: {text}", file=self.stream, flush=True)

    @property
    def live(self) -> bool:
        return self.stream.isatty()

    def start(self, name: str, round_: int, warmup: bool) -> None:
        self.index += 1
        kind = " warm-up" if warmup else ""
        self.label = f"[{self.index}/{self.total}] {name} (round {round_ + 1}{kind})"
        if not self.live:
            print(f"{self.label}: running", file=self.stream, flush=True)

    def update(self, p: Progress) -> None:
        if not self.live:
            return
        tests = f"{p.done}/{p.collected} tests" if p.collected is not None else "collecting"
        line = f"{self.label}: {p.elapsed_s:6.1f}s  {tests}"
        self.stream.write(f"\r\033[K{line}")
        self.stream.flush()

    def finish(self, result: RunResult, path: str) -> None:
        if self.live:
            self.stream.write("\r\033[K")
        mark = busy_mark(busy.load_of(result))
        print(
            f"{self.label}: {result.status} in {result.wall_s:.2f}s "
            f"({outcome_text(result.outcome)}){f' [{mark}]' if mark else ''} -> {path}",
            file=self.stream,
            flush=True,
        )
