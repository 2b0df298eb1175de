#!/bin/sh
# `make demo`: replays the user's walk-through on this host. Until the mount engine lands this is
# step one of it: is aufs supported here, and if not, what would make it so.
set -u
bin=${1:-.build/release/aufsctl}
echo "\$ aufsctl check"
"$bin" check
rc=$?
echo
echo "aufsctl check exited $rc (0 usable, 3 loadable/installable, 4 blocked)"
exit 0
