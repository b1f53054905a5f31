#!/usr/bin/env python
"""Run the web server and the django-q2 worker together in the foreground.

Ctrl-C (or SIGTERM) stops both; if either exits, the other is stopped too.
"""

import os
import signal
import subprocess
import sys
import time

PORT = os.environ.get("PORT", "8000")
HOST = os.environ.get("HOST", "127.0.0.1")
# Links in e-mails the worker sends point here unless the environment says otherwise.
os.environ.setdefault("PUBLIC_BASE_URL", f"http://{HOST}:{PORT}")


def main():
    python = sys.executable
    web = subprocess.Popen([python, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"])
    worker = subprocess.Popen([python, "manage.py", "qcluster"])
    children = [web, worker]
    print(f"\n  Ledgerline is running at http://{HOST}:{PORT}/  (worker pid {worker.pid})")
    print("  Sign in as owner@demo.example with password demo-ledger-2026")
    print("  Press Ctrl-C to stop the web server and the worker.\n", flush=True)

    def stop(*_):
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        deadline = time.time() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while all(child.poll() is None for child in children):
        time.sleep(0.5)
    stop()


if __name__ == "__main__":
    main()
