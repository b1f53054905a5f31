from tests.urlmatrix import register_url

register_url("exchange_rates", post=lambda w: {"action": "add", "add-day": "2026-01-05", "add-currency": "USD",
                                               "add-rate": "0.92", "add-confirm": "on"})
