# syntax=docker/dockerfile:1
#
# Flux's SageMaker training image (script-mode style, bring-your-own-container).
#
# SageMaker runs it as `docker run <image> train`; the entry point is `python -m flux_sagemaker`,
# which accepts and ignores `train`, reads the channels under /opt/ml/input, trains with the same
# code as `flux train --backend local`, writes /opt/ml/model (or /opt/ml/output/failure) and, when
# the job sets FLUX_SM_SHARD_UPLOAD, uploads its model to S3 (see flux_sagemaker/entry.py).
#
# Build and push (not done by the tests):
#   docker build -t flux-train .
#   docker tag flux-train <account>.dkr.ecr.<region>.amazonaws.com/flux-train:<version>
#   docker push <account>.dkr.ecr.<region>.amazonaws.com/flux-train:<version>
# then point FLUX_SAGEMAKER_IMAGE_URI at the pushed tag.

FROM python:3.12-slim

ARG UV_VERSION=0.13.9

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/flux/.venv

# XGBoost's wheels need the GNU OpenMP runtime, which the slim image lacks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir "uv==${UV_VERSION}"

WORKDIR /opt/flux

# Dependencies first (from the lock file, without dev tools), so code changes reuse this layer.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

# Only the packages: no tests, virtualenvs or git history in the image.
COPY models ./models
COPY pipelines ./pipelines
COPY flux_cli ./flux_cli
COPY flux_sagemaker ./flux_sagemaker
RUN uv sync --frozen --no-dev

ENV PATH="/opt/flux/.venv/bin:${PATH}"

ENTRYPOINT ["python", "-m", "flux_sagemaker"]
