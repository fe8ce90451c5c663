#!/bin/sh
# Prints the package version, from git (docs/install.md, "Versions"):
#   HEAD tagged v1.2.3            -> 1.2.3
#   5 commits after tag v1.2.3    -> 1.2.3+5.gabc1234
#   tag v1.3.0-rc1                -> 1.3.0~rc1 (sorts before 1.3.0)
#   no v* tag                     -> 0.0.0+<commit count>.g<commit>
# A work tree with uncommitted changes adds ".dirty". Every form is a valid
# Debian and RPM version and sorts by history on one branch.
# Outside a git checkout (a source archive) it is 0.0.0+nogit.
set -eu
cd "$(dirname "$0")/.."
if ! git rev-parse --verify -q HEAD >/dev/null 2>&1; then
	echo 0.0.0+nogit
	exit 0
fi
dirty=""
git diff --quiet HEAD -- 2>/dev/null || dirty=".dirty"
if d=$(git describe --tags --match 'v[0-9]*' --long 2>/dev/null); then
	# v1.2.3-rc1-5-gabc1234: the last two fields are count and commit.
	commit=${d##*-}
	rest=${d%-*}
	count=${rest##*-}
	tag=${rest%-*}
	v=$(printf '%s' "${tag#v}" | sed 's/-/~/')
	if [ "$count" != 0 ]; then
		v="$v+$count.$commit"
	fi
else
	v="0.0.0+$(git rev-list --count HEAD).g$(git rev-parse --short=7 HEAD)"
fi
printf '%s%s\n' "$v" "$dirty"
