# The Accord worker and web app: one image, different commands (see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md worker.py ./
COPY accord ./accord
COPY activities ./activities
COPY definitions ./definitions
COPY workflows ./workflows
# The tracing extra, so ACCORD_TRACING=otlp works without another image.
RUN pip install --no-cache-dir ".[tracing]" \
    && useradd --system --uid 10001 accord && mkdir /data && chown accord /data
USER accord
ENV ACCORD_DATA_DIR=/data PYTHONUNBUFFERED=1
# Accord's state when ACCORD_DATABASE_URL is unset (SQLite and files, one host); with it set
# (docker-compose.yml) the state is in PostgreSQL and nothing is kept here.
VOLUME /data
# The worker: 9464 serves /metrics, /healthz and /readyz when ACCORD_METRICS_PORT is set.
EXPOSE 8000 9464
# docker stop sends SIGTERM: the worker stops polling and lets running activities finish.
STOPSIGNAL SIGTERM
CMD ["accord", "worker"]
