"""The payment and bank pages, one module per area; urls.py maps them."""
