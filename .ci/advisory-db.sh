#!/usr/bin/env bash
# Unpacks the offline RustSec snapshot from ../shared where cargo-deny looks for
# it, as the git checkout it insists on, and prints the database root.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
snapshot="$top/../shared/advisory-db.tar.gz"
root="${TMPDIR:-/tmp}/wechatpay-advisory-dbs"
# cargo-deny names the checkout after the default RustSec URL's hash.
dir="$root/advisory-db-3157b0e258782691"
if [ ! -d "$dir/.git" ]; then
  [ -f "$snapshot" ] || { echo "missing $snapshot (the shared/ folder beside the repo)" >&2; exit 1; }
  rm -rf "$dir" "$root/advisory-db"
  mkdir -p "$root"
  tar -xzf "$snapshot" -C "$root"
  mv "$root/advisory-db" "$dir"
  (cd "$dir" && git init -q && git add -A \
    && git -c user.name=ci -c user.email=ci@localhost commit -qm "RustSec snapshot from shared/")
fi
echo "$root"
