#!/usr/bin/env bash
# apt-get install PACKAGE..., waiting while another apt or dpkg holds its locks (an
# unattended upgrade, a second make) instead of failing on them.  Gives up after
# APT_WAIT seconds (default 600) and says what to do; any other failure stops at once.
#
#   tools/apt_install.sh libcjson-dev
set -uo pipefail
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
wait_s=${APT_WAIT:-600}
deadline=$(( $(date +%s) + wait_s ))
log=$(mktemp); trap 'rm -f "$log"' EXIT
for step in update install; do
  while :; do
    if [ $step = update ]; then args=(update -qq); else args=(install -y -qq "$@"); fi
    # DPkg::Lock::Timeout: apt itself waits for dpkg's lock; the loop covers the lists lock too
    if $SUDO apt-get -o DPkg::Lock::Timeout=60 "${args[@]}" >"$log" 2>&1; then break; fi
    if grep -q "Could not get lock\|Unable to acquire the dpkg frontend lock\|Unable to lock" "$log"; then
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "apt is still busy after ${wait_s} s (another apt-get or dpkg holds its lock):"
        grep -m1 "lock" "$log"
        echo "wait for it to finish, then run make again (or: ${SUDO:+$SUDO }apt-get install $*)"
        exit 1
      fi
      echo "apt is busy (another apt-get or dpkg holds its lock): waiting"
      sleep 10
    else
      cat "$log"; echo "apt-get ${args[*]} failed"; exit 1
    fi
  done
done
