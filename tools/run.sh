#!/usr/bin/env bash
# run.sh — what `make run` does: start every service of dapr.yaml with its own daprd sidecar.
#
# With a usable Dapr CLI (on PATH, `dapr init` done, its daprd reporting 1.18.x) it runs `dapr run -f`, as a
# Dapr user would; otherwise it says why and runs the project's launcher (tools/run), which reads the same
# dapr.yaml and needs nothing but Go and the brokers.
#
# Settings (environment, or make variables):
#   PROFILE=redis|rabbitmq-postgres|mqtt-mysql   the component profile under components/ (default redis)
#   SECURE=1                                     generate a DAPR_API_TOKEN (apps → sidecars) and an
#                                                APP_API_TOKEN (sidecars → apps) for the run, as in Kubernetes
#   USE_CLI=0                                    never use the Dapr CLI, even where it is installed
#
# Why the CLI is not exec'ed: `dapr run -f` moves itself into a process group of its own, so the SIGINT a
# terminal sends on Ctrl-C reaches make and this script but never the CLI. This script therefore stays in the
# foreground, and forwards SIGINT, SIGTERM and SIGHUP to the CLI, which stops every app and sidecar it started.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
profile="${PROFILE:-redis}"
readonly WANT_MINOR="1.18."

say() { printf 'make run: %s\n' "$*" >&2; }
die() { printf 'make run: ERROR: %s\n' "$*" >&2; exit 1; }

[[ -d "components/$profile" ]] || die "no profile components/$profile (PROFILE must name a folder of components/, see components/README.md)"

case "${SECURE:-0}" in
  1|true|yes)
    token() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
    export DAPR_API_TOKEN="${DAPR_API_TOKEN:-$(token)}" APP_API_TOKEN="${APP_API_TOKEN:-$(token)}"
    say "SECURE=1: sidecars and apps require API tokens (DAPR_API_TOKEN, APP_API_TOKEN); the Dapr CLI's own" \
      "commands (dapr invoke, dapr publish, the dashboard) send none and will be refused"
    ;;
  0|false|no|"") ;;
  *) die "SECURE=${SECURE} is not understood: use SECURE=1 to require API tokens, or leave it unset" ;;
esac

# cli_unusable → prints why the installed Dapr CLI cannot run orderflow, or nothing when it can.
cli_unusable() {
  command -v dapr >/dev/null 2>&1 || { echo "the Dapr CLI is not installed"; return; }
  local home="${DAPR_INSTALL_DIR:-$HOME/.dapr}" version
  [[ -f "$home/config.yaml" && -x "$home/bin/daprd" ]] \
    || { echo "the Dapr CLI is installed, but 'dapr init' was never run (no $home/bin/daprd or $home/config.yaml)"; return; }
  version="$("$home/bin/daprd" --version 2>/dev/null | head -n1 | tr -d '[:space:]')" || version=""
  [[ "$version" == "${WANT_MINOR}"* ]] \
    || echo "the Dapr CLI's daprd ($home/bin/daprd) is '${version:-unreadable}', orderflow needs ${WANT_MINOR}x ('dapr init --slim --runtime-version 1.18.2' installs it)"
}

why=""
case "${USE_CLI:-1}" in
  0|false|no) why="USE_CLI=0" ;;
  *) why="$(cli_unusable)" ;;
esac

if [[ -z "$why" ]]; then
  runfile="dapr.yaml"
  if [[ "$profile" != "redis" ]]; then
    # The CLI resolves paths relative to the run file, so the copy stays next to dapr.yaml.
    runfile=".dapr.${profile}.yaml"
    sed "s#\./components/redis#./components/${profile}#" dapr.yaml > "$runfile"
  fi
  say "using the Dapr CLI: dapr run -f $runfile (Ctrl-C stops everything)"
  say "the operations console will be at http://127.0.0.1:8087 once its app logs 'listening'"
  dapr run -f "$runfile" &
  cli=$!
  forward() { say "stopping: forwarding $1 to the Dapr CLI (pid $cli)"; kill -TERM "$cli" 2>/dev/null || true; }
  trap 'forward SIGINT' INT
  trap 'forward SIGTERM' TERM
  trap 'forward SIGHUP' HUP
  # wait returns early when a trapped signal arrives; keep waiting until the CLI has stopped what it started.
  status=0
  while :; do
    wait "$cli" && status=0 || status=$?
    kill -0 "$cli" 2>/dev/null || break
  done
  exit "$status"
fi

if command -v dapr >/dev/null 2>&1 || [[ "$why" == "USE_CLI=0" ]]; then
  say "not using the Dapr CLI: ${why}; running the project's launcher instead"
fi
command -v go >/dev/null 2>&1 || die "the Go toolchain is not on PATH; install Go $(sed -n 's/^go //p' go.mod) and retry"
daprd="$(tools/daprd.sh)" || exit 1
go build -o bin/orderflow-run ./tools/run
exec bin/orderflow-run -daprd "$daprd" -f dapr.yaml -profile "$profile"
