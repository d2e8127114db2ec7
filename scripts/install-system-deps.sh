#!/usr/bin/env bash
# Installs the Debian packages dlgrade needs when they are missing and we are root:
# fonts for the Persian report, Fashion-MNIST, the Pango libraries WeasyPrint uses, pdftoppm, and
# bubblewrap (the sandbox that runs student code; setpriv comes with util-linux).
set -euo pipefail
packages=(fonts-noto-core dataset-fashion-mnist libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 poppler-utils bubblewrap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "dlgrade: missing system packages: ${missing[*]}" >&2
  echo "dlgrade: install them (e.g. sudo apt-get install ${missing[*]}) and re-run" >&2
  exit 1
fi
echo "dlgrade: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
