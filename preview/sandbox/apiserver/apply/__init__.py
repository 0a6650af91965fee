"""PATCH and server-side apply: the patch formats and field ownership (managedFields)."""
