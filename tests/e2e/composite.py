"""action.yml run the way a GitHub runner runs a composite action's steps.

Each step's `env:` gets its `${{ inputs.X }}`, `${{ steps.S.outputs.O }}`,
`${{ github.action_path }}` and `${{ github.token }}` expressions substituted (the runner
evaluates them; the scripts never see an expression), the script runs with
`bash --noprofile --norc -eo pipefail` (the runner's `shell: bash`), directories appended to
`$GITHUB_PATH` are put on `PATH` for later steps, and every step gets its own
`$GITHUB_OUTPUT`. The `uses:` steps (actions/cache) are skipped, as on a runner without a
cache service: the environment is then reused only from the tool cache.

Used by tests/test_action_runner.py and by the product check (tests/e2e/product.py), which
also runs on GitHub: there a workflow cannot give `uses: ./` a synthetic event (the runner
does not let a step's `env:` override `GITHUB_*` variables), so the check runs the steps
itself with this runner.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from tests.e2e.runner import ROOT, Step, read_outputs

ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class StepFailed(Exception):
    """A step of the composite exited non-zero; the message holds its name and output."""


def evaluate(value: str, inputs: Mapping[str, str], context: Mapping[str, str],
             steps: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The runner's expression evaluation, for the expressions action.yml may use."""
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("inputs."):
            return inputs[name.removeprefix("inputs.")]
        if name.startswith("steps."):
            step, _, output = name.removeprefix("steps.").partition(".outputs.")
            return (steps or {}).get(step, {}).get(output, "")  # a skipped step has none
        return context[name]
    return EXPRESSION.sub(one, value)


def action_inputs(given: Mapping[str, str], context: Mapping[str, str]) -> dict[str, str]:
    """Every input: the given value, else its default (defaults may be expressions)."""
    unknown = set(given) - set(ACTION["inputs"])
    if unknown:
        raise ValueError(f"action.yml has no input {', '.join(sorted(unknown))}")
    values = {}
    for name, spec in ACTION["inputs"].items():
        if name in given:
            values[name] = given[name]
        elif spec.get("required"):
            raise ValueError(f"required input {name} not given")
        else:
            values[name] = evaluate(str(spec.get("default", "")), {}, context)
    return values


def run_steps(step_files: Step, environ: Mapping[str, str], inputs: Mapping[str, str],
              context: Mapping[str, str], *, install_only: bool = False,
              log: Callable[[str], None] | None = None) -> dict[str, dict[str, str]]:
    """Run the composite's steps in order (`install_only`: all but the last, `preview
    action`); returns each step id's outputs. `log` gets each step's name and output."""
    github_path = step_files.directory / "github_path"
    github_path.touch()
    steps = ACTION["runs"]["steps"][:-1] if install_only else ACTION["runs"]["steps"]
    outputs: dict[str, dict[str, str]] = {}
    for index, step in enumerate(steps):
        if "uses" in step:
            if not step["uses"].startswith("actions/cache/"):
                raise ValueError(f"step {step['name']!r}: only actions/cache is skipped")
            continue
        if step["shell"] != "bash":
            raise ValueError(f"step {step['name']!r}: shell {step['shell']!r}")
        output_file = step_files.directory / f"output-{index}"
        output_file.touch()
        added = [line for line in github_path.read_text().splitlines() if line.strip()]
        env = {**environ,
               "PATH": os.pathsep.join([*reversed(added), environ["PATH"]]),
               "GITHUB_PATH": str(github_path), "GITHUB_OUTPUT": str(output_file),
               "GITHUB_ACTION_PATH": context["github.action_path"],
               **{k: evaluate(str(v), inputs, context, outputs)
                  for k, v in (step.get("env") or {}).items()}}
        script = step_files.directory / f"step-{index}.sh"
        script.write_text(step["run"])
        result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail",
                                 str(script)], env=env, cwd=ROOT, capture_output=True,
                                text=True, timeout=900)
        if log is not None:
            log(f"--- step {step['name']!r} (exit {result.returncode})\n"
                f"{result.stdout}{result.stderr}")
        if result.returncode != 0:
            raise StepFailed(f"step {step['name']!r} exited {result.returncode}\n"
                             f"{result.stdout}\n{result.stderr}")
        if "id" in step:
            outputs[step["id"]] = read_outputs(output_file.read_text())
    return outputs
