"""Garbage collection of forgotten preview environments.

`collect` reads what the host holds, `preview.github.pulls` asks GitHub which pull requests
are open, `plan` decides (pure: each environment gets keep or delete and a reason), `execute`
acts on the plan with its safety limits, and `report` renders it.
"""
