"""The reminder, collections, portal and webhook pages, one module per area; urls.py maps them."""
