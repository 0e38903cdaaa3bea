# Shared by the bench scripts (sourced): goes to the checkout root, installs what is
# missing, and makes sure the OS-sized fixture exists (a few minutes the first time).
# Sets: root, fixtures; and REPO BRANCH C1 C2 from the fixture's commits.env.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
fixtures=${OSTREE_CONTAINER_FIXTURES:-/var/tmp/ostree-container-fixtures}
shared=${OSTREE_CONTAINER_FIXTURE_SCRIPTS:-$root/../shared/fixtures}

scripts/install-deps.sh
if [ ! -f "$fixtures/os/commits.env" ]; then
    echo "building the OS fixture (a few minutes) ..." >&2
    mkdir -p "$fixtures"
    EMPTY_DELTAS=0 bash "$shared/make-os-repo.sh" "$fixtures/os" > "$fixtures/make-os-repo.log" 2>&1
fi
# shellcheck disable=SC1091
. "$fixtures/os/commits.env"   # REPO BRANCH C1 C2
