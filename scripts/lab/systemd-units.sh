#!/bin/sh
# Run by the guest's init before it boots systemd as PID 1 (lab.mode=systemd): installs
# lab.target, which pulls in basic.target and lab.service, the lab's scenarios as a oneshot
# service that powers the guest off when it ends. Nothing else of the host's configuration
# (multi-user.target and what it wants) is started.
#   systemd-units.sh NEWROOT WORKTREE SCENARIOS
set -eu
R=$1 ROOT=$2 SCENARIOS=$3
units=$R/etc/systemd/system
mkdir -p "$units"
cat > "$units/lab.target" <<UNIT
[Unit]
Description=lockdiag kernel lab
Requires=basic.target lab.service
After=basic.target lab.service
AllowIsolate=yes
UNIT
cat > "$units/lab.service" <<UNIT
[Unit]
Description=lockdiag kernel lab scenarios ($SCENARIOS)
After=basic.target systemd-udevd.service systemd-journald.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/bin/sh $ROOT/scripts/lab/guest-run.sh $SCENARIOS
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity
UNIT
