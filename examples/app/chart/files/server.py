"""The example app: one page showing the pull request this preview was built from.

Standard library only, so the official python image runs it from a mounted ConfigMap.
Everything shown comes from the pull request (branch names are chosen by its author): it
is HTML-escaped. Listens on $HOST:$PORT (0.0.0.0:8080 by default); /healthz is the
readiness probe.
"""

import html
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Preview of PR #{number}</title></head>
<body>
<h1>{greeting}</h1>
<p>This is the preview of pull request <strong>#{number}</strong>,
commit <code>{sha}</code> on branch <code>{branch}</code>.</p>
<p><small>Served by pod {pod}.</small></p>
</body>
</html>
"""


def page(env: dict) -> str:
    """The HTML page for the environment's PR_* variables (every value escaped)."""
    sha = env.get("PR_SHA", "")[:7]
    return PAGE.format(**{k: html.escape(v, quote=True) for k, v in {
        "number": env.get("PR_NUMBER", "") or "?",
        "sha": sha or "unknown",
        "branch": env.get("PR_BRANCH", "") or "unknown",
        "greeting": env.get("GREETING", "") or "Hello",
        "pod": env.get("POD_NAME", "") or "unknown",
    }.items()})


class Handler(BaseHTTPRequestHandler):
    server_version = "preview-example/1.0"

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(200, "ok\n", "text/plain")
        elif self.path.split("?", 1)[0] in ("/", "/index.html"):
            self._send(200, page(dict(os.environ)), "text/html")
        else:
            self._send(404, "not found\n", "text/plain")

    def do_HEAD(self) -> None:
        self.do_GET()

    def _send(self, status: int, body: str, content_type: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        sys.stdout.write(f"{self.address_string()} {format % args}\n")


def main() -> None:
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer((host, port), Handler)
    # SIGTERM (pod deletion) ends the process cleanly with exit code 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"serving on {host}:{port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
