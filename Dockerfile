# Operator image for people with Docker; hack/images/build.py makes the same
# image (localhost/stage2-operator:dev) without Docker. Build the base first:
#   docker build -f hack/images/Dockerfile.python -t localhost/stage2-python:dev hack/images
#   docker build -t localhost/stage2-operator:dev .
ARG BASE_IMAGE=localhost/stage2-python:dev

# The build stage uses the same CPython minor (3.11) as Debian bookworm's
# python3 in the base image, so compiled wheels load there.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md* ./
COPY operator/ operator/
RUN pip install --no-cache-dir --target /opt/stage2/lib .

FROM ${BASE_IMAGE}
COPY --from=build /opt/stage2/lib /opt/stage2/lib
# Byte code is compiled at install time, and nothing is written at run
# time, so the container works with readOnlyRootFilesystem: true.
ENV PYTHONPATH=/opt/stage2/lib \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /tmp
CMD ["python", "-m", "kopf", "run", "--all-namespaces", "--standalone", "-m", "stage2_operator.handlers"]
