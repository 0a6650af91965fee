"""What environments cost: requests x time from the host (`usage`), priced by the policy
(`report`). Pure; `preview.operations.cost` reads the host and keeps the ledger."""
