#!/usr/bin/env bash
# daprd.sh — find or build the daprd 1.18 sidecar binary the project runs against.
#
# Why 1.18.2 and not 1.18.3: 1.18.3 cannot be built from the Go module proxy (it needs durabletask-go v0.12.4,
# iskorotkov/avro/v2 v2.33.1 and dapr's fork of pulsar-client-go, which the proxy does not serve). The only
# change of 1.18.3 that touches orderflow fixes a sidecar crash on a CloudEvent whose `traceparent` is not a
# string. orderflow's apps always publish it as a string (internal/events), so only something else writing
# such an event straight to the broker can trigger it; move to 1.18.3 once the proxy serves its modules.
#
# Resolution order (first match wins):
#   1. $DAPRD, if set: must exist and report 1.18.x, otherwise this fails (a wrong $DAPRD is a user error,
#      silently falling back would hide it).
#   2. ~/.dapr/bin/daprd, when the Dapr CLI installed one that reports 1.18.x (the official build, which has
#      every component).
#   3. bin/daprd (bin/daprd-allcomponents with DAPRD_TAGS=allcomponents) in this repository, when it reports
#      1.18.x (a good binary is never rebuilt).
#   4. A copy of the same build kept in the per-user cache ($ORDERFLOW_CACHE, default ~/.cache/orderflow), so a
#      fresh clone — CI's, or a second checkout — on the same machine does not compile daprd again.
#   5. Build daprd v1.18.2 from the github.com/dapr/dapr module, into the cache and bin/.
#
# DAPRD_TAGS picks the component set of a build: stablecomponents (default; ~130 MB, every component the
# local profiles use) or allcomponents (~230 MB, adds the cloud profiles' SES, SendGrid, AWS and GCP secret
# managers and GCS bucket, for trying those profiles without the official daprd).
#
# The build happens in a throw-away module whose go.mod is derived, at build time, from dapr v1.18.2's own
# go.mod (its require and replace lines), so orderflow's go.mod never carries daprd's ~500 dependencies.
#
# Prints the absolute path of the daprd to use as the last line on stdout; progress goes to stderr.
set -euo pipefail

readonly DAPR_VERSION="1.18.2"
readonly WANT_MINOR="1.18."
tags="${DAPRD_TAGS:-stablecomponents}"
case "$tags" in
  stablecomponents) name="daprd" ;;
  allcomponents) name="daprd-allcomponents" ;;
  *) printf 'daprd: ERROR: DAPRD_TAGS=%s: use stablecomponents (the default) or allcomponents\n' "$tags" >&2; exit 1 ;;
esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${root}/bin/${name}"
cache_dir="${ORDERFLOW_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/orderflow}"
cached="${cache_dir}/daprd-${DAPR_VERSION}-${tags}"

say() { printf 'daprd: %s\n' "$*" >&2; }
die() { printf 'daprd: ERROR: %s\n' "$*" >&2; exit 1; }

# reports_wanted_version BIN → 0 when BIN runs and says it is 1.18.x.
reports_wanted_version() {
  local bin="$1" out
  [[ -x "$bin" ]] || return 1
  out="$("$bin" --version 2>/dev/null | head -n1 | tr -d '[:space:]')" || return 1
  [[ "$out" == "${WANT_MINOR}"* ]]
}

# install_from_cache → copies the cached build to bin/ (a copy, not a link: `make clean` or a rebuilt cache
# must not change a binary a running sidecar uses).
install_from_cache() {
  mkdir -p "$(dirname "$target")"
  cp "$cached" "$target.tmp" && mv "$target.tmp" "$target"
}

if [[ -n "${DAPRD:-}" ]]; then
  [[ -e "$DAPRD" ]] || die "DAPRD=$DAPRD does not exist. Unset DAPRD to let 'make daprd' build daprd ${DAPR_VERSION}, or point it at a daprd ${WANT_MINOR}x binary."
  [[ -x "$DAPRD" ]] || die "DAPRD=$DAPRD is not executable (chmod +x it, or unset DAPRD)."
  reports_wanted_version "$DAPRD" || die "DAPRD=$DAPRD reports version '$("$DAPRD" --version 2>&1 | head -n1)', need ${WANT_MINOR}x. Unset DAPRD to build daprd ${DAPR_VERSION}."
  say "using \$DAPRD=$DAPRD"
  echo "$DAPRD"; exit 0
fi

if reports_wanted_version "${HOME}/.dapr/bin/daprd"; then
  say "using ${HOME}/.dapr/bin/daprd (installed by the Dapr CLI)"
  echo "${HOME}/.dapr/bin/daprd"; exit 0
fi

if reports_wanted_version "$target"; then
  say "using $target"
  echo "$target"; exit 0
fi

if reports_wanted_version "$cached"; then
  install_from_cache
  say "using $target (copied from the build cached in $cache_dir)"
  echo "$target"; exit 0
fi

command -v go >/dev/null 2>&1 || die "the Go toolchain is not on PATH; install Go (see go.mod for the version) to build daprd."

say "building daprd ${DAPR_VERSION} (-tags ${tags}) from source into bin/${name}."
say "a cold build downloads ~500 modules and compiles for about 12 minutes on 2 cores; later runs reuse the binary."
start=$SECONDS

moddir="$(go mod download -json "github.com/dapr/dapr@v${DAPR_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -n "$moddir" && -f "$moddir/go.mod" ]] || die "could not download github.com/dapr/dapr@v${DAPR_VERSION} from the Go module proxy ($(go env GOPROXY))."

work="$(mktemp -d "${TMPDIR:-/tmp}/orderflow-daprd-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Keep dapr's go directive, require and replace blocks; swap only the module line, then require dapr itself.
sed -e 's#^module github.com/dapr/dapr$#module orderflow.local/daprd-build#' "$moddir/go.mod" > "$work/go.mod"
printf '\nrequire github.com/dapr/dapr v%s\n' "$DAPR_VERSION" >> "$work/go.mod"
cp "$moddir/go.sum" "$work/go.sum"
chmod u+w "$work/go.mod" "$work/go.sum"

# Print elapsed time while the long steps run, so a silent terminal is never mistaken for a hang.
( while sleep 30; do say "still working… $(( SECONDS - start ))s elapsed"; done ) &
ticker=$!
trap 'kill "$ticker" 2>/dev/null || true; rm -rf "$work"' EXIT

cd "$work"
say "step 1/2: downloading modules"
GOFLAGS=-mod=mod go mod download github.com/dapr/dapr >&2 \
  || die "downloading daprd's dependencies failed (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))."
GOFLAGS=-mod=mod go list -deps -tags "$tags" github.com/dapr/dapr/cmd/daprd >/dev/null \
  || die "resolving daprd's packages failed; see the go output above."
say "step 2/2: compiling ($(( SECONDS - start ))s elapsed so far)"
mkdir -p "$cache_dir"
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -tags "$tags" \
  -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${DAPR_VERSION}" \
  -o "$cached.tmp" github.com/dapr/dapr/cmd/daprd >&2 \
  || die "compiling daprd failed; see the go output above."
mv "$cached.tmp" "$cached"
reports_wanted_version "$cached" || die "the freshly built $cached does not report ${DAPR_VERSION}."
install_from_cache
say "built $target in $(( SECONDS - start ))s (also kept in $cache_dir for other checkouts)"
echo "$target"
