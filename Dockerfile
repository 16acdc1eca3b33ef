# The app image: the lean serving path (onnxruntime + tokenizers, no torch) with the embedded default model.
#   docker build -t toxic-app . && docker run -p 7860:7860 toxic-app
# The Hugging Face Space builds this same file (README front matter: sdk: docker, app_port: 7860), and so does
# the Cloud Run deployment.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860 \
    TOXIC_LOG=/home/toxic/data/predictions.sqlite \
    TOXIC_FLAG_DIR=/home/toxic/data/flagged \
    GRADIO_EXAMPLES_CACHE=/home/toxic/data/cached_examples \
    TOXIC_MODEL=/home/toxic/app/models/default

RUN useradd --create-home --uid 1000 toxic
WORKDIR /home/toxic/app

COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock

COPY pyproject.toml README.md app.py ./
COPY toxic ./toxic
COPY models/default ./models/default
COPY examples ./examples
RUN pip install --no-deps . && mkdir -p /home/toxic/data && chown -R toxic:toxic /home/toxic/data

USER 1000
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:7860/healthz', timeout=4).status != 200)"]
CMD ["python", "app.py"]
