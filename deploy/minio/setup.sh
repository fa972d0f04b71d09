#!/bin/sh
# Prepare a MinIO deployment for LookingGlass: the bucket, and bucket notifications (object created / removed) sent to
# LookingGlass's webhook, POST /events/minio, with the shared secret as `Authorization: Bearer <LG_EVENTS_TOKEN>`.
# Idempotent: safe to run on every `docker compose up`. Needs `mc` (the minio/mc image runs it as its entrypoint);
# also works by hand against any MinIO: MINIO_URL=https://s3.example.org LG_EVENTS_URL=... sh deploy/minio/setup.sh
#
# Environment: MINIO_URL (http://minio:9000), MINIO_ACCESS_KEY / MINIO_SECRET_KEY (or MINIO_ROOT_USER /
# MINIO_ROOT_PASSWORD), MINIO_BUCKET (lookingglass), LG_EVENTS_URL (http://web:5000/events/minio), LG_EVENTS_TOKEN,
# LG_EVENTS_QUEUE_DIR (a directory on the MinIO server where undelivered events wait while the webhook is down;
# empty: events raised while LookingGlass is down are dropped, and `lookingglass reconcile` picks the objects up),
# LG_EVENT_PREFIXES (space-separated key prefixes to notify for, e.g. "media/ incoming/"; empty: the whole bucket).
set -eu

MINIO_URL="${MINIO_URL:-http://minio:9000}"
ACCESS_KEY="${MINIO_ACCESS_KEY:-${MINIO_ROOT_USER:-}}"
SECRET_KEY="${MINIO_SECRET_KEY:-${MINIO_ROOT_PASSWORD:-}}"
BUCKET="${MINIO_BUCKET:-lookingglass}"
EVENTS_URL="${LG_EVENTS_URL:-http://web:5000/events/minio}"
QUEUE_DIR="${LG_EVENTS_QUEUE_DIR:-}"
PREFIXES="${LG_EVENT_PREFIXES:-}"
TARGET=lookingglass # the webhook target's name; MinIO names its ARN after it
ARN="arn:minio:sqs::${TARGET}:webhook"
ALIAS=lg
DONE_MARKER=/tmp/lookingglass-setup.done

fail() {
    echo "minio-setup: $*" >&2
    exit 1
}
if [ -z "$ACCESS_KEY" ] || [ -z "$SECRET_KEY" ]; then fail "set MINIO_ACCESS_KEY and MINIO_SECRET_KEY"; fi
[ -n "${LG_EVENTS_TOKEN:-}" ] || fail "set LG_EVENTS_TOKEN (the shared secret /events/minio checks)"
command -v mc >/dev/null 2>&1 || fail "mc (the MinIO client) is not on PATH"
rm -f "$DONE_MARKER"

wait_ready() {
    tries=0
    until mc ready "$ALIAS" >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ "$tries" -lt 60 ] || fail "MinIO at $MINIO_URL is not ready after 60 s"
        sleep 1
    done
}

echo "minio-setup: $MINIO_URL, bucket $BUCKET, events to $EVENTS_URL"
mc alias set "$ALIAS" "$MINIO_URL" "$ACCESS_KEY" "$SECRET_KEY" >/dev/null
wait_ready
mc mb --ignore-existing "$ALIAS/$BUCKET"

# The webhook target. A single-word auth_token is sent as `Authorization: Bearer <token>`. MinIO loads notification
# targets at start-up, hence the restart; it probes the endpoint with a HEAD request, so web should be up (compose
# orders it so). With queue_dir, events raised while web is down are kept on the MinIO server and replayed.
if [ -n "$QUEUE_DIR" ]; then
    mc admin config set "$ALIAS" "notify_webhook:$TARGET" \
        endpoint="$EVENTS_URL" auth_token="$LG_EVENTS_TOKEN" queue_dir="$QUEUE_DIR" queue_limit=100000
else
    mc admin config set "$ALIAS" "notify_webhook:$TARGET" endpoint="$EVENTS_URL" auth_token="$LG_EVENTS_TOKEN"
fi
mc admin service restart "$ALIAS"
wait_ready

# put: s3:ObjectCreated:*, delete: s3:ObjectRemoved:*. Left alone when this ARN already has rules on the bucket (a
# re-run); to change them: mc event rm ALIAS/BUCKET --force, then run this again.
if mc event ls "$ALIAS/$BUCKET" "$ARN" 2>/dev/null | grep -q "$ARN"; then
    echo "minio-setup: $BUCKET already notifies $ARN"
elif [ -z "$PREFIXES" ]; then
    mc event add "$ALIAS/$BUCKET" "$ARN" --event put,delete
else
    for prefix in $PREFIXES; do
        mc event add "$ALIAS/$BUCKET" "$ARN" --event put,delete --prefix "$prefix"
    done
fi
mc event ls "$ALIAS/$BUCKET" "$ARN"

touch "$DONE_MARKER"
echo "minio-setup: done"
