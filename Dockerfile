# Ledgerline: one image for the web server (gunicorn + WhiteNoise) and the django-q2 worker.
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# WeasyPrint renders PDFs with Pango/HarfBuzz; DejaVu is the documents' fallback font.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
      fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml ./
RUN pip install .
COPY . .

# Static files are collected at build time and served by WhiteNoise (hashed, compressed names).
RUN DEBUG=False COLLECTSTATIC=True SECRET_KEY=collectstatic-only-not-used-at-runtime \
    python manage.py collectstatic --noinput --verbosity 0

RUN useradd --create-home --uid 10001 ledgerline && mkdir -p /app/media && chown ledgerline /app/media
USER ledgerline

EXPOSE 8000
CMD ["gunicorn", "ledger_site.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
