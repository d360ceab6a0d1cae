# Sourced by the scripts that build tools into .cache/bin: the repository root, the pinned
# versions, and `have <tool> <version>` (built already, at that version).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=versions.env
source "$root/tools/local-servers/versions.env"
bin="$root/.cache/bin"
mkdir -p "$bin"
have() { [ -x "$bin/$1" ] && [ "$(cat "$bin/$1.version" 2>/dev/null)" = "$2" ]; }
