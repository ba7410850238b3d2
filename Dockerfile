# The Accord worker and web app. Same image, different command (see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md worker.py ./
COPY accord ./accord
COPY activities ./activities
COPY definitions ./definitions
COPY workflows ./workflows
RUN pip install --no-cache-dir .
ENV ACCORD_DATA_DIR=/data
VOLUME /data
CMD ["accord", "worker"]
