#!/usr/bin/env bash
# Debian packages the test suite needs: Chromium for browser tests, poppler for PDF checks.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
# issue 23: the PgBouncer pooling test and the docker-compose.yml check
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
fc-list 2>/dev/null | grep -qi "dejavu" || need+=(fonts-dejavu-core)
command -v zbarimg >/dev/null 2>&1 || need+=(zbar-tools)  # issue 16: reading back the EPC QR code on invoice PDFs
# issue 17: Hindi documents (DejaVu has no Devanagari; Arabic and Hebrew names are in DejaVu)
fc-list :lang=hi 2>/dev/null | grep -q . || need+=(fonts-lohit-deva)
command -v npm >/dev/null 2>&1 || need+=(npm)  # scripts/vendor_axe.sh: axe-core for the accessibility tests
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "Missing system packages: ${need[*]}" >&2
  echo "Install them with: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
