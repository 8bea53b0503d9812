#!/usr/bin/env bash
# Builds the Debian package from the project's files (debian/, docs/packaging.md) and checks
# it with lintian:
#   tools/package.sh [OUTDIR]      (default: build-package; the .deb and lintian.txt land there)
# The files are those git knows (committed, changed or new, not ignored), copied into a
# scratch folder, so nothing of a build folder in the checkout gets into the package.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$(realpath -m "${1:-build-package}")

tools/install-deps.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version=$(sed -n '1s/^mm-pyhost (\([^)]*\)).*/\1/p' debian/changelog)
source_dir=$work/mm-pyhost-$version
mkdir -p "$source_dir"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$source_dir"

echo "package: building mm-pyhost $version in $source_dir"
(cd "$source_dir" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -b -us -uc)

mkdir -p "$out"
rm -f "$out"/mm-pyhost_*.deb "$out"/mm-pyhost-dbgsym_*.deb
deb=$(ls "$work"/mm-pyhost_"$version"_*.deb)
cp "$deb" "$out"/
echo "package: $out/$(basename "$deb")"

# Errors fail the build; warnings and notes are listed (docs/packaging.md says why each stays).
lintian --info --display-info "$out/$(basename "$deb")" | tee "$out/lintian.txt" || true
if grep -q '^E:' "$out/lintian.txt"; then
  echo "package: lintian found errors" >&2
  exit 1
fi
echo "package: lintian: no errors"
