# syntax=docker/dockerfile:1
# The Airflow image of this integration: the official apache/airflow image plus this
# repository's distributions, installed from wheels built in a first stage: the contracts,
# the Acme ERP provider (hook, operators), the integration platform (DAG factory, lifecycle,
# Integrations UI plugin, `integrations` CLI) and the Acme ERP -> Progix integration
# (`acme-erp` CLI); then the DAG shims and the airflow-init script.
# Nothing secret is baked in: every secret arrives as an environment variable at run time.
#
#     docker build -t acme-erp-airflow:0.1.0 .      (or `docker compose build`)
ARG AIRFLOW_VERSION=3.3.2

FROM python:3.12-slim AS provider-wheel
WORKDIR /src
COPY contracts/ contracts/
COPY acme_provider/ acme_provider/
COPY platform/ platform/
COPY integrations/ integrations/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist \
        ./contracts ./acme_provider ./platform ./integrations/acme_erp

FROM apache/airflow:${AIRFLOW_VERSION}
ARG AIRFLOW_VERSION
# Pinning apache-airflow keeps pip from upgrading or downgrading the image's Airflow while it
# resolves the distributions' dependencies (the official image's documented practice).
COPY --from=provider-wheel /dist/ /tmp/provider-dist/
RUN pip install --no-cache-dir \
        "apache-airflow==${AIRFLOW_VERSION}" \
        "apache-airflow-providers-fab>=3.10" \
        "apache-airflow-providers-celery>=3.8" \
        /tmp/provider-dist/*.whl
COPY --chown=airflow:root dags/ /opt/airflow/dags/
COPY --chown=airflow:root deploy/airflow/ /opt/airflow/deploy/airflow/
# Created here so the named volume mounted on it starts owned by the airflow user.
RUN mkdir -p /opt/airflow/instances
