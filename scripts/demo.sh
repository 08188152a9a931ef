#!/usr/bin/env bash
# A first backup and restore with the embedded default config: a sample directory into the default local
# repository (/var/lib/rast/backups as root, else $XDG_DATA_HOME/rast-backup/backups).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin/rast-backup
work=$(mktemp -d)
mkdir -p "$work/sample/docs"
echo "hello from rast-backup" > "$work/sample/docs/hello.txt"
head -c 1048576 /dev/urandom > "$work/sample/random.bin"
ln -s docs/hello.txt "$work/sample/link"
(cd "$work" && env -u RAST_BACKUP_CONFIG "$OLDPWD/$bin" config | head -1 || true)
id=$(cd "$work" && env -u RAST_BACKUP_CONFIG "$OLDPWD/$bin" create "$work/sample" --name "Demo" --json | node -e 'process.stdin.on("data", (d) => process.stdout.write(JSON.parse(d).id))')
echo "created backup $id"
(cd "$work" && env -u RAST_BACKUP_CONFIG "$OLDPWD/$bin" list)
(cd "$work" && env -u RAST_BACKUP_CONFIG "$OLDPWD/$bin" verify "$id")
(cd "$work" && env -u RAST_BACKUP_CONFIG "$OLDPWD/$bin" restore "$id" "$work/restored")
diff -r --no-dereference "$work/sample" "$work/restored" && echo "restored tree is identical to the sample"
rm -rf "$work"
