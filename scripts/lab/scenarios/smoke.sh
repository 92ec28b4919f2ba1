# The guest sees the host's files and the worktree's binaries run in it.
# lab-deadline: 60
. "$LAB_ROOT/scripts/lab/lib.sh"
step "uname"; uname -a
step "lockdiagd --version"
ls -la /lib/modules/ /lab-results; modprobe dummy_hcd || fail "modprobe dummy_hcd failed"; lsmod
