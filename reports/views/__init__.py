"""The report pages, one module per area; urls.py maps them."""
