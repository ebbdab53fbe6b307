# This project on top of the official Spark image of exactly the pinned pyspark version
# (pyproject.toml), so driver and executors run the same Spark and the same Python.
# Built by docker-compose.yml; the version is checked against the pin by tests/test_compose.py.
ARG SPARK_VERSION=4.2.0
FROM apache/spark:${SPARK_VERSION}

USER root
# The image is Ubuntu 22.04 (eclipse-temurin jammy; Java 21 from Spark 4.2 on), whose default
# Python is 3.10; the project needs 3.11 (numpy 2.4), which Ubuntu ships as python3.11.
RUN set -ex; \
    apt-get update; \
    apt-get install -y --no-install-recommends python3.11 python3.11-venv; \
    rm -rf /var/lib/apt/lists/*; \
    mkdir -p /data; \
    chown spark:spark /data

# Installed into the image, not mounted from a developer's virtualenv.
COPY pyproject.toml README.md /opt/spark-stream-lab/src/
COPY generator /opt/spark-stream-lab/src/generator
COPY consumer /opt/spark-stream-lab/src/consumer
RUN python3.11 -m venv /opt/spark-stream-lab/venv \
    && /opt/spark-stream-lab/venv/bin/pip install --no-cache-dir /opt/spark-stream-lab/src

ENV PATH=/opt/spark-stream-lab/venv/bin:$PATH \
    PYSPARK_PYTHON=/opt/spark-stream-lab/venv/bin/python
USER spark
WORKDIR /opt/spark/work-dir
