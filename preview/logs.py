"""Log output: readable lines by default, one JSON object per line behind a flag."""

from __future__ import annotations

import json
import logging


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                 "level": record.levelname.lower(), "logger": record.name,
                 "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure(level: int, json_lines: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pyhelm3 logs every failing helm command as a warning, including the expected ones
    # ("release: not found" when asking whether one exists); preview.helm turns the real
    # failures into errors that say what to do. Shown with -v.
    logging.getLogger("pyhelm3").setLevel(max(level, logging.ERROR) if level >= logging.WARNING
                                          else level)
