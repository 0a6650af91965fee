"""Who is calling and may they: client certificates, bearer and service-account tokens, RBAC and
its bootstrap policy."""
