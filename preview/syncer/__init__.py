"""The syncer: makes the host cluster run what is created inside a virtual cluster."""
