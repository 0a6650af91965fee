"""Pure helpers every part of the sandbox shares (API server, controllers, kubelet): objects,
resource types, selectors, quantities, `Status` errors."""
