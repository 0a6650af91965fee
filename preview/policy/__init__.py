"""The platform policy: what the host's owner decides and no pull request can relax.

`model` is the file (schema, defaults, loading); `enforce` judges a pull request's request
against it and builds the values the policy allows (pure); `quantity` compares Kubernetes
quantities. docs/policy.md is the user's page.
"""

from preview.policy.enforce import (
    check_request,
    check_vcluster,
    environment_count_problem,
    vcluster_values,
)
from preview.policy.model import DEFAULT, DOCS, Policy, PolicyError, load, parse

__all__ = ["DEFAULT", "DOCS", "Policy", "PolicyError", "check_request", "check_vcluster",
           "environment_count_problem", "load", "parse", "vcluster_values"]
