# Sourced by scripts/test: makes sure the real services the tests use are running on loopback,
# installing them from Debian's packages / PyPI when the machine does not have them.
# Everything installed lives outside the clone (apt, and ~/.cache/emporium for the venv).

EMPORIUM_CACHE="${EMPORIUM_CACHE:-$HOME/.cache/emporium}"
mkdir -p "$EMPORIUM_CACHE"

apt_install() {
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# A port nothing listens on now: a sink or server left behind by an earlier run must not
# answer in place of this run's own.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() { # wait_for <seconds> <command...>
  local n=$(( $1 * 10 )); shift
  until "$@" >/dev/null 2>&1; do n=$((n - 1)); [ "$n" -gt 0 ] || return 1; sleep 0.1; done
}

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null; then apt_install postgresql; fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    local v; v=$(ls /etc/postgresql | sort -V | tail -n 1)
    if ! pg_lsclusters -h | grep -q "^$v main"; then pg_createcluster "$v" main >/dev/null; fi
    # Tests connect as postgres over TCP without a password (loopback only).
    local hba="/etc/postgresql/$v/main/pg_hba.conf"
    grep -q '^host all all 127.0.0.1/32 trust' "$hba" || sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$v" main start
    wait_for 30 pg_isready -q -h 127.0.0.1 -p 5432
  fi
  echo "postgres: ready on 127.0.0.1:5432"
}

ensure_redis() {
  if ! command -v redis-server >/dev/null; then apt_install redis-server; fi
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/emporium-ci.log
    wait_for 10 redis-cli -h 127.0.0.1 -p 6379 ping
  fi
  echo "redis: ready on 127.0.0.1:6379"
}

# An SMTP sink that writes every message into a Maildir, started for this run only.
start_smtp_sink() {
  local venv="$EMPORIUM_CACHE/venv"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'aiosmtpd==1.4.6'
  fi
  SMTP_PORT="${SMTP_PORT:-$(free_port)}"
  SMTP_MAILDIR="$(mktemp -d)/maildir"   # must not exist yet: Python's Maildir creates cur/new/tmp
  "$venv/bin/python" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$SMTP_MAILDIR" \
    >"$EMPORIUM_CACHE/smtp.log" 2>&1 &
  SMTP_PID=$!
  wait_for 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SMTP_PORT"
  export SMTP_PORT SMTP_MAILDIR
  echo "smtp sink: pid $SMTP_PID on 127.0.0.1:$SMTP_PORT -> $SMTP_MAILDIR"
}

# Debian's headless Chromium and its WebDriver, for the browser tests.
ensure_chromium() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt_install chromium chromium-driver
  fi
  export CHROMEDRIVER="$(command -v chromedriver)" CHROMIUM="$(command -v chromium)"
  echo "chromium: $("$CHROMIUM" --version 2>/dev/null | head -n 1)"
}

# s3s-fs: an S3-compatible server that checks SigV4 signatures, so presigned URLs are really
# verified (moto does not). Built once with cargo into the cache; 0.15+ needs a newer Rust.
start_s3() {
  local bin="$EMPORIUM_CACHE/tools/bin/s3s-fs"
  if [ ! -x "$bin" ]; then
    cargo install s3s-fs@0.14.1 --features binary --locked --root "$EMPORIUM_CACHE/tools" -q
  fi
  S3_PORT="${S3_PORT:-$(free_port)}"
  S3_DATA="$(mktemp -d)"
  "$bin" --host 127.0.0.1 --port "$S3_PORT" --access-key testing --secret-key testingsecret "$S3_DATA" \
    >"$EMPORIUM_CACHE/s3.log" 2>&1 &
  S3_PID=$!
  wait_for 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$S3_PORT"
  export S3_ENDPOINT="http://127.0.0.1:$S3_PORT" S3_ACCESS_KEY=testing S3_SECRET_KEY=testingsecret
  echo "s3 (s3s-fs): pid $S3_PID on $S3_ENDPOINT -> $S3_DATA"
}

# schemathesis (PyPI) for scripts/fuzz, pinned: a newer release may generate other requests.
ensure_schemathesis() {
  local venv="$EMPORIUM_CACHE/fuzz"
  if [ ! -x "$venv/bin/schemathesis" ] || ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q '4.32.5'; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'schemathesis==4.32.5' 'hypothesis==6.150.0'
  fi
  SCHEMATHESIS="$venv/bin/schemathesis"
}

# axe-core (npm) for the accessibility check of the browser tests; loaded into each page by
# the test itself, never served by the shop.
ensure_axe() {
  local dir="$EMPORIUM_CACHE/npm"
  local js="$dir/node_modules/axe-core/axe.min.js"
  if ! command -v npm >/dev/null; then apt_install nodejs npm; fi
  if [ ! -f "$js" ] || ! grep -q 'axe v4.14.1' "$js"; then
    npm install --prefix "$dir" --no-audit --no-fund --silent axe-core@4.14.1 >/dev/null
  fi
  export AXE_CORE="$js"
  echo "axe-core: $AXE_CORE"
}
