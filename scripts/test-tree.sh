#!/usr/bin/env bash
# The kernel tree kgate's tests build, bisect and gate: Debian's
# linux-source-6.12, committed as `base`, with a short recipe of history on
# top. Built in kgate's cache (never in the repository) and reused while this
# script is unchanged. Prints the tree's path, and only that, on stdout:
#
#   TREE=$(scripts/test-tree.sh)        # or scripts/test-tree.sh DIR
#
# The history, oldest first (each commit tagged), and what the tests expect:
#   base            Linux 6.12.x as Debian ships it: every upstream case PASS or SKIP
#   unrelated-1     README only
#   unrelated-2     a comment in init/main.c (compiled, not fs/fuse)
#   broken-build    does not compile (fs/fuse/inode.c): exit 125; a bisect of
#                   base..unrelated-3 tests it first and must skip it
#   fix-build       reverts broken-build
#   revert-regular  fs/fuse/passthrough.c accepts any backing file type again:
#                   U03.dir and U05.opath_dir get 0 instead of EISDIR, which is
#                   the 6.9-6.12.47 behaviour fixed by e9c8da670e74 -> FAIL
#                   "regressed to ...", and the first bad commit of a bisect
#   stack-depth     BACKING_OPEN allows one more stacking level (>= becomes >):
#                   changes the ELOOP cases (U16.overlay_d1, U18.over_pt_d1, ...)
#   unrelated-3     README only
# extra-branches {
# Branches beside that history (each off one of its tags, added to a tree
# already made without making it again: other clones' tests share the tree,
# and the tags above keep their commits):
#   warn-dir        off base: fs/fuse/passthrough.c WARNs on a directory as
#                   backing file (and still says EISDIR): U03.dir is CRASH,
#                   its trace decoded to a file:line in fs/fuse
#   regular-comment off revert-regular: a comment where the regular-only
#                   check was, so revert-regular's revert does not apply on
#                   it: a bisect names revert-regular, unverified
# extra-branches }
set -euo pipefail

cache="${KGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kgate}"
dir="${1:-$cache/test-tree/linux}"
tarball=/usr/src/linux-source-6.12.tar.xz
recipe=$(sha256sum "$0" | cut -c1-16)
# extra-branches {
# The recipe is the history's: this file less these blocks, so adding a
# branch does not make the tree again (the blocks keep every other line as it was).
recipe=$(sed '/^ *# extra-branches {/,/^ *# extra-branches }/d' "$0" | sha256sum | cut -c1-16)
# BRANCH PARENT FILE PYTHON-EXPR SUBJECT: a commit on PARENT made with plumbing
# (its own index, no work tree), so the tree's HEAD, index and work tree stay
# as they are; the same commit every time (fixed names and dates); a branch
# already there is left alone, and two scripts at once make the same commit.
extra_branch() {
  local tree=$1 branch=$2 parent=$3 file=$4 expr=$5 subject=$6
  git -C "$tree" rev-parse -q --verify "refs/heads/$branch" >/dev/null && return 0
  local idx blob newtree commit
  idx=$(mktemp)
  GIT_INDEX_FILE=$idx git -C "$tree" read-tree "$parent"
  blob=$(git -C "$tree" show "$parent:$file" | /usr/bin/python3 -c '
import sys
s, (old, new) = sys.stdin.read(), sys.argv[1].split("\n=>\n")
if old not in s: sys.exit("test-tree: text to replace not found: " + repr(old))
sys.stdout.write(s.replace(old, new, 1))' "$expr" | git -C "$tree" hash-object -w --stdin)
  GIT_INDEX_FILE=$idx git -C "$tree" update-index --cacheinfo "100644,$blob,$file"
  newtree=$(GIT_INDEX_FILE=$idx git -C "$tree" write-tree)
  rm -f "$idx"
  commit=$(GIT_AUTHOR_NAME="kgate test tree" GIT_AUTHOR_EMAIL="tree@kgate.invalid" GIT_AUTHOR_DATE="2026-01-02T00:00:00Z" \
    GIT_COMMITTER_NAME="kgate test tree" GIT_COMMITTER_EMAIL="tree@kgate.invalid" GIT_COMMITTER_DATE="2026-01-02T00:00:00Z" \
    git -C "$tree" commit-tree "$newtree" -p "$(git -C "$tree" rev-parse "$parent^{commit}")" -m "$subject")
  git -C "$tree" update-ref "refs/heads/$branch" "$commit" "" 2>/dev/null \
    || [ "$(git -C "$tree" rev-parse "refs/heads/$branch")" = "$commit" ]
  say "$branch: $subject"
}
extra_branches() {
  extra_branch "$1" warn-dir base fs/fuse/passthrough.c \
    $'\t/* read/write/splice/mmap passthrough only relevant for regular files */\n\tres = d_is_dir\n=>\n\t/* read/write/splice/mmap passthrough only relevant for regular files */\n\tWARN_ON(d_is_dir(file->f_path.dentry));\n\tres = d_is_dir' \
    "fuse: passthrough: warn on a directory as backing file"
  extra_branch "$1" regular-comment revert-regular fs/fuse/passthrough.c \
    $'\t\tgoto out;\n\n\tbacking_sb\n=>\n\t\tgoto out;\n\n\t/* any type of backing file: the server knows what it passes */\n\tbacking_sb' \
    "fuse: passthrough: say why any backing file type is taken"
}
# extra-branches }
say() { echo "test-tree: $*" >&2; }

if [ -f "$dir/.git/kgate-recipe" ] && [ "$(cat "$dir/.git/kgate-recipe")" = "$recipe" ] \
   && [ -z "$(git -C "$dir" status --porcelain 2>/dev/null)" ]; then
  # extra-branches {
  extra_branches "$dir"
  # extra-branches }
  echo "$dir"
  exit 0
fi
[ -f "$tarball" ] || { say "$tarball is missing (apt-get install linux-source-6.12)"; exit 1; }

t0=$(date +%s)
tmp="$dir.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"
say "unpacking $tarball"
tar -xJf "$tarball" -C "$tmp" --strip-components=1
# Fewer files for git to hash: no other architecture (x86 and um, which x86
# includes, stay), no documentation but the Kconfig the top Kconfig sources
# (their Kconfig files stay: crypto/Kconfig and others source them).
for a in "$tmp"/arch/*/; do
  case "$(basename "$a")" in x86|um) ;; *) find "$a" -type f ! -name 'Kconfig*' -delete ;; esac
done
find "$tmp/Documentation" -mindepth 1 -maxdepth 1 ! -name Kconfig -exec rm -rf {} +
# Debian's .gitignore ignores every top-level path (its packaging repository
# holds only debian/): drop that block, so the tree is an upstream one.
sed -i '/^# Debian packaging/,$d' "$tmp/.gitignore"
sed -i '$d' "$tmp/.gitignore"  # the "#" line before it
say "unpacked in $(( $(date +%s) - t0 )) s"

version=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown)
export GIT_AUTHOR_NAME="kgate test tree" GIT_AUTHOR_EMAIL="tree@kgate.invalid"
export GIT_COMMITTER_NAME="kgate test tree" GIT_COMMITTER_EMAIL="tree@kgate.invalid"
n=0
g() { git -C "$tmp" -c core.looseCompression=0 -c gc.auto=0 -c core.fsync=none "$@"; }
commit() { # TAG SUBJECT
  n=$((n + 1))
  export GIT_AUTHOR_DATE="2026-01-01T00:$(printf %02d $n):00Z" GIT_COMMITTER_DATE="2026-01-01T00:$(printf %02d $n):00Z"
  g add -A
  g commit -q -m "$2"
  g tag "$1"
  say "$1: $2"
}
edit() { # FILE PYTHON-EXPR: the file must change
  local before; before=$(sha256sum "$tmp/$1")
  /usr/bin/python3 - "$tmp/$1" "$2" <<'EOF'
import sys
p, expr = sys.argv[1], sys.argv[2]
s = open(p).read()
old, new = expr.split('\n=>\n')
if old not in s: sys.exit(f"test-tree: {p}: text to replace not found: {old!r}")
open(p, 'w').write(s.replace(old, new, 1))
EOF
  [ "$(sha256sum "$tmp/$1")" != "$before" ] || { say "$1 did not change"; exit 1; }
}

g init -q -b main
commit base "Linux 6.12 (Debian linux-source-6.12 $version)"
say "base committed in $(( $(date +%s) - t0 )) s"

echo "kgate test tree: an unrelated change." >> "$tmp/README"
commit unrelated-1 "README: note that this is kgate's test tree"

echo "/* kgate test tree: a comment in a file every kernel compiles. */" >> "$tmp/init/main.c"
commit unrelated-2 "init: add a comment"

echo "this is not C;" >> "$tmp/fs/fuse/inode.c"
commit broken-build "fuse: WIP (does not build)"

sed -i '$d' "$tmp/fs/fuse/inode.c"
commit fix-build "fuse: fix the build"

edit fs/fuse/passthrough.c $'\t/* read/write/splice/mmap passthrough only relevant for regular files */\n\tres = d_is_dir(file->f_path.dentry) ? -EISDIR : -EINVAL;\n\tif (!d_is_reg(file->f_path.dentry))\n\t\tgoto out_fput;\n\n\tbacking_sb\n=>\n\tbacking_sb'
commit revert-regular "fuse: passthrough: accept any backing file type again"

edit fs/fuse/passthrough.c $'\tif (backing_sb->s_stack_depth >= fc->max_stack_depth)\n=>\n\tif (backing_sb->s_stack_depth > fc->max_stack_depth)'
commit stack-depth "fuse: passthrough: allow one more stacking level"

echo "kgate test tree: another unrelated change." >> "$tmp/README"
commit unrelated-3 "README: one more note"

[ -z "$(g status --porcelain)" ] || { say "the tree is not clean after the recipe"; exit 1; }
echo "$recipe" > "$tmp/.git/kgate-recipe"
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
mv "$tmp" "$dir"
trap - EXIT
# extra-branches {
extra_branches "$dir"
# extra-branches }
say "done in $(( $(date +%s) - t0 )) s: $dir"
echo "$dir"
