from tests.urlmatrix import register_url

register_url("exchange_rates", post=lambda w: {"action": "add", "add-day": "2026-01-05", "add-currency": "USD",
                                               "add-rate": "0.92", "add-confirm": "on"})
register_url("revaluation_report", methods=["GET"])
register_url("revaluation_post", post=lambda w: {"date": "2026-01-05"}, post_changes=False, methods=["POST"])
register_url("revaluation_documents", methods=["GET"])
