#!/usr/bin/env bash
# Fetches the Persian text face for the reports: Vazirmatn (OFL, by Saber Rastikerdar) from its author's npm
# package, pinned and checked by sha256, into dlgrade/typeset/fonts/vazirmatn/ (git ignores it). Only the "Non-Latin"
# cut is kept, so Latin letters and digits fall through to Noto Sans as the report's CSS asks.
# Without npm (or the registry), it says so and exits 0: the reports then use Noto Sans Arabic
# (Debian fonts-noto-core), and each PDF's appendix names the face it was set in.
set -euo pipefail
VERSION=33.0.3
DEST="$(cd "$(dirname "$0")/.." && pwd)/dlgrade/typeset/fonts/vazirmatn"
declare -A FILES=(
  [misc/Non-Latin/fonts/ttf/Vazirmatn-NL-Regular.ttf]=c7f1168c90983caeb8a532bcace1031ec8ec2859ad1c16c033dbbf54c43e2998
  [misc/Non-Latin/fonts/ttf/Vazirmatn-NL-Bold.ttf]=c14881a22c7ea8a4c0ad8477642c1155f141db5e386beed7e0adee46cf0f3e8c
  [OFL.txt]=17e355067c8284f47743a1ee3b1ef7ff684ff0601eda357f9353b10b3016ab31
)

installed() {
  [ -f "$DEST/VERSION" ] && [ "$(cat "$DEST/VERSION")" = "$VERSION" ] || return 1
  for f in "${!FILES[@]}"; do
    echo "${FILES[$f]}  $DEST/$(basename "$f")" | sha256sum --check --status || return 1
  done
}
installed && exit 0

fallback() {
  echo "dlgrade: could not fetch Vazirmatn $VERSION from npm ($1)." >&2
  echo "dlgrade: the Persian PDFs will use Noto Sans Arabic (fonts-noto-core) instead; re-run 'make setup' with npm to get Vazirmatn." >&2
  exit 0
}
command -v npm >/dev/null || fallback "npm is not installed"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# npm checks the tarball against the registry's sha512 integrity; the per-file sha256 below pins the content.
( cd "$tmp" && npm pack --silent "vazirmatn@$VERSION" >/dev/null 2>"$tmp/npm.log" ) \
  || fallback "npm pack failed: $(tail -n 1 "$tmp/npm.log")"
tar -xzf "$tmp/vazirmatn-$VERSION.tgz" -C "$tmp"
mkdir -p "$tmp/out"
for f in "${!FILES[@]}"; do
  src="$tmp/package/$f"
  [ -f "$src" ] || { echo "dlgrade: vazirmatn@$VERSION has no $f; the pinned file list in $0 is out of date" >&2; exit 1; }
  got="$(sha256sum "$src" | cut -d' ' -f1)"
  if [ "$got" != "${FILES[$f]}" ]; then
    echo "dlgrade: $f from vazirmatn@$VERSION has sha256 $got, expected ${FILES[$f]}; refusing to install it" >&2
    exit 1
  fi
  cp "$src" "$tmp/out/"
done
echo "$VERSION" > "$tmp/out/VERSION"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$tmp/out" "$DEST"
echo "dlgrade: installed Vazirmatn $VERSION (Non-Latin cut, OFL) in $DEST"
