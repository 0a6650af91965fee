"""Request handling: the HTTP server, request parsing, routing to verbs and subresources, and
what it serves besides objects (discovery, OpenAPI, tables, watch streams)."""
