"""The verbs over storage: what create, update, patch and delete mean, per kind (strategies,
defaulting, validation, deletion)."""
