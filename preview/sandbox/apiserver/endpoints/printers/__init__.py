"""`kubectl get` tables, as the real server's printers (`pkg/printers`) print them.

`columns.py` is the data (one entry per kind: names, types, formats, priorities, cells);
`pods.py`, `workloads.py`, `network.py` and `cluster.py` hold the cells, `formats.py` what they
share, `custom.py` a custom resource's printer columns, and `table.py` the Table response.
"""
