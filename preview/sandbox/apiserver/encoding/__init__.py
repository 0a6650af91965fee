"""Wire formats besides JSON: the Kubernetes protobuf bodies kubectl and helm send."""
