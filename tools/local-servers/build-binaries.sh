#!/usr/bin/env bash
# Builds nats-server and FerretDB once into .cache/bin (git-ignored) and reuses them afterwards.
set -euo pipefail
# shellcheck source=bin-cache.sh
source "$(dirname "$0")/bin-cache.sh"

if ! have nats-server "$NATS_SERVER_VERSION"; then
  echo "infra: building nats-server $NATS_SERVER_VERSION (once)" >&2
  GOBIN="$bin" go install "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION"
  echo "$NATS_SERVER_VERSION" >"$bin/nats-server.version"
fi

# FerretDB v1 runs a query and its write in separate SQLite transactions (FerretDB issue #3040),
# so two concurrent guarded updates of one document can both pass their guard. MongoDB makes
# every single-document write atomic and our correctness rests on that, so the local build
# serialises the document-writing commands of each database (each is a SQLite file of its own,
# with one writer at a time anyway; services with databases of their own no longer wait for
# each other). Its SQLite backend also looks a document up by `_id` only when the filter is
# nothing but `_id`; any guard (`{_id, available: {$gte: n}}`) made every update scan and decode
# the whole collection. The build pushes `_id` equality down whenever the filter has it
# (FerretDB still applies the whole filter to what comes back). And it looks `_id` up as
# `->'$._id'` while the `_id` index is built on `->"_id"`: SQLite matches index expressions by
# their text, so every lookup by `_id` (updates and deletes included) scanned the table and
# parsed the JSON of every row; the build writes the lookup as the index is written. Since
# nothing but `_id` is ever looked up through an index, the build records non-unique indexes
# (`listIndexes` shows them) without building them in SQLite: each one parsed the JSON of every
# document written, for no read (with the webhooks' deliveries' four, a third of what each
# document of a large insert cost). Unique indexes are built: they enforce their constraint.
# The marker makes builds without these patches rebuild.
ferret_build="$FERRETDB_VERSION+db-serialized-writes+id-pushdown+id-index+unread-indexes-unbuilt"
if ! have ferretdb "$ferret_build"; then
  echo "infra: building FerretDB $FERRETDB_VERSION (once)" >&2
  # FerretDB embeds build/version/version.txt, which its release process generates and the
  # module zip lacks, so build from a writable copy of the module with that file written.
  # `go mod download` runs outside any module (an empty temporary directory); both temporary
  # directories are removed however the build ends.
  modtmp=$(mktemp -d)
  src=$(mktemp -d)
  trap 'rm -rf "$modtmp" "$src"' EXIT
  dir=$(cd "$modtmp" && go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  cp -r "$dir/." "$src/"
  chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" >"$src/build/version/version.txt"
  cat >"$src/internal/handler/allot_serialized_writes.go" <<'GO'
package handler

import (
	"sync"

	"github.com/FerretDB/wire"
)

// writeLocks hold one mutex per database (see build-binaries.sh).
var writeLocks sync.Map

// lockDatabase makes a write command atomic with respect to the other writes to its database.
func lockDatabase(msg *wire.OpMsg) func() {
	name := ""
	if doc, err := opMsgDocument(msg); err == nil {
		if v, err := doc.Get("$db"); err == nil {
			name, _ = v.(string)
		}
	}
	m, _ := writeLocks.LoadOrStore(name, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}
GO
  for cmd in delete:MsgDelete findandmodify:MsgFindAndModify insert:MsgInsert update:MsgUpdate; do
    file="$src/internal/handler/msg_${cmd%%:*}.go"
    sed -i "s/^func (h \*Handler) ${cmd#*:}(connCtx context.Context, msg \*wire.OpMsg) (\*wire.OpMsg, error) {$/&\n\tdefer lockDatabase(msg)()/" "$file"
    grep -q 'defer lockDatabase(msg)()' "$file" || { echo "infra: could not patch $file" >&2; exit 1; }
  done
  meta="$src/internal/backends/sqlite/metadata/metadata.go"
  sed -i "s/^\tIDColumn = DefaultColumn + \"->'\$._id'\"$/\tIDColumn = DefaultColumn + \"->\\\\\"_id\\\\\"\"/" "$meta"
  grep -q 'IDColumn = DefaultColumn + "->\\"_id\\""' "$meta" || { echo "infra: could not patch $meta" >&2; exit 1; }
  query="$src/internal/backends/sqlite/collection.go"
  sed -i '0,/^\tif params.Filter.Len() == 1 {$/s//\tif params.Filter.Len() > 0 \&\& params.Filter.Has("_id") {/' "$query"
  grep -q 'params.Filter.Has("_id")' "$query" || { echo "infra: could not patch $query" >&2; exit 1; }
  registry="$src/internal/backends/sqlite/metadata/registry.go"
  perl -0pi -e 's/\t\tif (_, err := db\.ExecContext\(ctx, q\); err != nil \{\n\t\t\t_ = r\.indexesDrop\(ctx, dbName, collectionName, created\))/\t\tif !index.Unique {\n\t\t\t\/\/ allot: recorded, not built\n\t\t} else if $1/; s/"DROP INDEX %q"/"DROP INDEX IF EXISTS %q"/' "$registry"
  [ "$(grep -c 'allot: recorded, not built' "$registry")" = 1 ] && grep -q 'DROP INDEX IF EXISTS' "$registry" ||
    { echo "infra: could not patch $registry" >&2; exit 1; }
  if ! (cd "$src" && go build -o "$bin/ferretdb" ./cmd/ferretdb); then
    # Newer Go toolchains reject the linkname tricks of some dependencies.
    (cd "$src" && go build -ldflags=-checklinkname=0 -o "$bin/ferretdb" ./cmd/ferretdb)
  fi
  echo "$ferret_build" >"$bin/ferretdb.version"
fi
