"""How the URL × role matrix (tests/urlmatrix.py) builds and posts the reports pages."""

from tests.urlmatrix import register_url

register_url("aging_cell", pk="customer")
register_url("aging_export", fmt=lambda world: "csv")
register_url("report_settings", post=lambda world: {"aging_limits": "15,45,90", "aging_basis": "due",
                                                    "credit_overdue_days": "45"})
