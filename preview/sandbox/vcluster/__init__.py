"""Stand-in for the vcluster control-plane pod on a host sandbox: a virtual-flavour sandbox plus
the real syncer."""
