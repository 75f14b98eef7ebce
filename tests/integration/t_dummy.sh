#!/bin/bash
set -euo pipefail
echo "dummy: KVMLAB=$KVMLAB GUESTS=$GUESTS REPO=$REPO TMPDIR=$TMPDIR cwd=$PWD nested=${KVMLAB_NESTED:-0}"
[ -x "$KVMLAB" ] && [ -d "$GUESTS" ] && [ -f "$REPO/Makefile" ]
[ -z "$(ls -A "$TMPDIR")" ]
if [ -e /dev/kvm ]; then ls -l /dev/kvm; fi
case "${KVMLAB_DUMMY_MODE:-ok}" in
  fail) echo "about to fail"; exit 4 ;;
  hang) sleep 1000 ;;
esac
