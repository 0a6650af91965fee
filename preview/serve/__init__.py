"""`preview serve`: the platform's API in the host cluster (docs/platform.md).

It is the only holder of host credentials: workflows log in with their GitHub Actions OIDC
token, upload the pull request's files as a bundle and get the same `up`/`down` the CLI
runs, under the platform policy it reads from its own file.
"""
