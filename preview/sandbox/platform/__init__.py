"""The runtime hook that runs charts/preview-platform's `preview serve` pod for real."""
