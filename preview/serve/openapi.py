"""The API's OpenAPI 3.1 document, served at /openapi.json (a test checks it names every
route the application serves)."""

from __future__ import annotations

from typing import Any

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}
_NDJSON = {
    "description": "NDJSON: {\"progress\": LINE} per step, then {\"result\": …} or "
                   "{\"error\": {\"message\", \"hint\", \"bad_input\"}}",
    "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
}
_REFUSALS = {
    "400": {"description": "bad input: the bundle, preview.yaml or the platform policy "
                           "refused it; nothing was created",
            "content": {"application/json": {"schema": _ERROR}}},
    "401": {"description": "no token, or a token that does not verify",
            "content": {"application/json": {"schema": _ERROR}}},
    "403": {"description": "the policy does not allow the token's repository, or the "
                           "environment is another repository's or pull request's",
            "content": {"application/json": {"schema": _ERROR}}},
}
_TARGET = [
    {"name": "owner", "in": "path", "required": True, "schema": {"type": "string"}},
    {"name": "repo", "in": "path", "required": True, "schema": {"type": "string"}},
]
_PR = {"name": "pr", "in": "path", "required": True, "schema": {"type": "integer"}}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "preview serve", "version": "1",
             "description": "Preview environments for pull requests (docs/platform.md). "
                            "Log in with the job's GitHub Actions OIDC ID token."},
    "components": {"securitySchemes": {"oidc": {"type": "http", "scheme": "bearer",
                                                "bearerFormat": "JWT"},
                                       "github": {"type": "http", "scheme": "bearer"}}},
    "security": [{"oidc": []}],
    "paths": {
        "/v1/environments/{owner}/{repo}": {
            "get": {"summary": "The repository's environments", "parameters": _TARGET,
                    "responses": {"200": {"description": "{\"environments\": [...]}"},
                                  **_REFUSALS}}},
        "/v1/environments/{owner}/{repo}/{pr}": {
            "get": {"summary": "One environment", "parameters": [*_TARGET, _PR],
                    "responses": {"200": {"description": "the environment"},
                                  "404": {"description": "no environment"}, **_REFUSALS}},
            "put": {"summary": "Create or upgrade the pull request's environment",
                    "parameters": [*_TARGET, _PR, *[
                        {"name": n, "in": "query", "required": n == "sha",
                         "schema": {"type": "string"}}
                        for n in ("sha", "config", "branch", "author", "title")]],
                    "requestBody": {"required": True, "content": {"application/gzip": {
                        "schema": {"type": "string", "format": "binary"}}}},
                    "responses": {"200": _NDJSON, **_REFUSALS,
                                  "413": {"description": "the bundle is too large"}}},
            "delete": {"summary": "Tear the pull request's environment down",
                       "parameters": [*_TARGET, _PR],
                       "responses": {"200": _NDJSON, **_REFUSALS}},
        },
        "/v1/environments/{owner}/{repo}/{pr}/kubeconfig": {
            "post": {"summary": "A developer's kubeconfig of the virtual cluster: a "
                                "ServiceAccount token inside it, short-lived",
                     "description": "Log in with your own GitHub token (Bearer); the policy's "
                                    "developers.minimumPermission on the repository is needed.",
                     "security": [{"github": []}], "parameters": [*_TARGET, _PR],
                     "responses": {
                         "200": {"description": "{\"kubeconfig\", \"expiresAt\", "
                                                "\"serviceAccount\", \"clusterRole\", "
                                                "\"login\", \"server\"}"},
                         "401": {"description": "no GitHub token, or one GitHub refuses or "
                                                "that is not a person's",
                                 "content": {"application/json": {"schema": _ERROR}}},
                         "403": {"description": "the person's role on the repository is "
                                                "below the policy's minimum",
                                 "content": {"application/json": {"schema": _ERROR}}},
                         "404": {"description": "no environment"},
                         "409": {"description": "the environment cannot give one as the "
                                                "policy says (e.g. no such exposure)"}}}},
        "/healthz": {"get": {"summary": "Alive", "security": [],
                             "responses": {"200": {"description": "ok"}}}},
        "/readyz": {"get": {"summary": "Reaches the host API", "security": [],
                            "responses": {"200": {"description": "ready"},
                                          "503": {"description": "not ready"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "security": [],
                             "responses": {"200": {"description": "text exposition"}}}},
        "/openapi.json": {"get": {"summary": "This document", "security": [],
                                  "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    },
}
