"""The host cluster's ingress controller: routing as ingress-nginx decides, served on loopback."""
