"""Derive the printers fixture from upstream's `pkg/printers/internalversion/printers.go`.

The sandbox's `kubectl get` columns are compared (tests/sandbox/test_printers_upstream.py)
with the column definitions of the real server's printers, read once from printers.go at the
release the sandbox reports and checked in, so that the comparison needs no network.

    python tests/tools/printers_fixture.py PATH/TO/printers.go v1.34 ["where it came from"] \
        > tests/sandbox/fixtures/printers-v1.34.json

It reads `AddHandlers`: each `xColumnDefinitions := []metav1.TableColumnDefinition{…}` block
(and the `append(x, …)` that extends one), each `h.TableHandler(x, printFoo)`, and the
signature `func printFoo(obj *pkg.Kind, …)` that names the kind a print function serves.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

_BLOCK = re.compile(r"(\w+)\s*:?=\s*(?:append\(\w+,\s*)?\[\]metav\d\w*\.TableColumnDefinition\{"
                    r"(.*?)\n\t\}", re.S)
_COLUMN = re.compile(r"\{Name:\s*\"([^\"]+)\"(.*?)\},?\s*$", re.M)
_FIELD = re.compile(r"(Type|Format|Priority):\s*(\"[^\"]*\"|\d+)")
_HANDLER = re.compile(r"h\.TableHandler\((\w+),\s*(\w+)\)")
_SIGNATURE = re.compile(r"^func (print\w+)\(\w+ \*\w+\.(\w+),", re.M)


def columns_of(body: str) -> list[dict[str, Any]]:
    out = []
    for match in _COLUMN.finditer(body):
        fields = dict(_FIELD.findall(match.group(2)))
        out.append({"name": match.group(1), "type": fields.get("Type", "\"\"").strip("\""),
                    "format": fields.get("Format", "\"\"").strip("\""),
                    "priority": int(fields.get("Priority", "0"))})
    return out


def parse(source: str) -> dict[str, list[dict[str, Any]]]:
    """Kind (the Go type's name) → its printer's column definitions, in order."""
    start = source.index("func AddHandlers(")
    body = source[start:source.index("\n}\n", start)]
    definitions: dict[str, list[dict[str, Any]]] = {}
    for match in _BLOCK.finditer(body):
        name, block = match.group(1), match.group(2)
        appended = "append(" in match.group(0)
        definitions[name] = (definitions.get(name, []) if appended else []) + columns_of(block)
    kinds_of = dict(_SIGNATURE.findall(source))
    out: dict[str, list[dict[str, Any]]] = {}
    for variable, printer in _HANDLER.findall(body):
        kind = kinds_of.get(printer)
        if kind is None or kind.endswith("List"):
            continue
        out[kind] = definitions[variable]
    return dict(sorted(out.items()))


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        kinds = parse(f.read())
    source = "kubernetes/kubernetes pkg/printers/internalversion/printers.go"
    json.dump({"kubernetes": argv[2], "source": f"{source} ({argv[3]})" if len(argv) == 4
               else source, "kinds": kinds}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
