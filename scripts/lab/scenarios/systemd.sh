# Scenario 4, the systemd service: systemd is PID 1 in this guest (lab.mode=systemd). The unit
# and sysusers file are installed as udev/lockdiagd.service's header says, with all its hardening;
# READY=1, the socket's owner/group/mode, a reader and a stranger, the watchdog after SIGSTOP,
# and a clean stop.
# lab-deadline: 200
. "$LAB_ROOT/scripts/lab/lib.sh"
unit=lockdiagd.service
status() { systemctl status --no-pager -l $unit 2>&1 | tail -n 12; }
show() { systemctl show -p "$1" --value $unit; }
CLEANUP="$CLEANUP
journalctl -b --no-pager -o short-monotonic > $LAB_OUT/$LAB_SCENARIO.journal.txt 2>&1"

[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is $(cat /proc/1/comm), not systemd"

step "install as the unit's header says"
install -m 0755 "$BIN/lockdiagd" "$BIN/lockdiag" /usr/local/bin/
install -D -m 0644 "$LAB_ROOT/udev/lockdiag.sysusers.conf" /etc/sysusers.d/lockdiag.conf
systemd-sysusers || fail "systemd-sysusers failed"
install -m 0644 "$LAB_ROOT/udev/lockdiagd.service" /etc/systemd/system/
systemctl daemon-reload
# Every hardening line must be understood by this systemd: an unknown one would be ignored.
bad=$(journalctl -b --no-pager -o cat | grep -E "lockdiagd\.service:[0-9]+: (Unknown|Failed to parse|Invalid)" | head -n1)
[ -z "$bad" ] || fail "systemd ignores a line of the unit: $bad"

step "systemctl start lockdiagd (Type=notify: returns at READY=1)"
systemctl start $unit || fail "systemctl start lockdiagd failed: $(status | tr '\n' ' ' | tail -c 400)"
[ "$(show ActiveState)" = active ] || fail "lockdiagd is $(show ActiveState) after start"
echo "status text: $(show StatusText)"
pid=$(show MainPID)
grep -E '^(NoNewPrivs|Seccomp|CapEff):' /proc/$pid/status
grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$pid/status || fail "lockdiagd runs without NoNewPrivileges"
grep -q '^Seccomp:[[:space:]]*2' /proc/$pid/status || fail "lockdiagd runs without its seccomp filter"
grep -q '^CapEff:[[:space:]]*0000000000000000' /proc/$pid/status || fail "lockdiagd has capabilities: $(grep CapEff /proc/$pid/status)"
[ "$(stat -c %U /proc/$pid)" = lockdiagd ] || fail "lockdiagd runs as $(stat -c %U /proc/$pid), not user lockdiagd"

step "socket owner, group and mode"
sock=/run/lockdiag/lockdiag.sock
[ -S $sock ] || fail "no socket at $sock"
[ "$(stat -c '%U %G %a' $sock)" = "lockdiagd lockdiag 660" ] || fail "$sock is '$(stat -c '%U %G %a' $sock)', not 'lockdiagd lockdiag 660' (udev/lockdiagd.service)"
[ "$(stat -c '%U %G %a' /run/lockdiag)" = "lockdiagd lockdiag 750" ] || fail "/run/lockdiag is '$(stat -c '%U %G %a' /run/lockdiag)', not 'lockdiagd lockdiag 750'"

step "a member of lockdiag can list; a user in no group is refused"
useradd -M -G lockdiag labreader
useradd -M labstranger
runuser -u labreader -- /usr/local/bin/lockdiag list > "$WORK/reader.txt" 2>&1 || fail "lockdiag list as a member of lockdiag failed: $(cat "$WORK/reader.txt")"
cat "$WORK/reader.txt"
if runuser -u labstranger -- /usr/local/bin/lockdiag list > "$WORK/stranger.txt" 2>&1; then
    fail "a user in no group could lockdiag list: $(cat "$WORK/stranger.txt")"
fi
echo "stranger: $(cat "$WORK/stranger.txt")"
grep -qi "permission\|refused\|group" "$WORK/stranger.txt" || fail "the stranger's refusal does not say why: $(cat "$WORK/stranger.txt")"

step "kill -STOP: the watchdog restarts it"
restarts=$(show NRestarts)
kill -STOP "$pid"
restarted() { [ "$(show NRestarts)" -gt "$restarts" ] && [ "$(show ActiveState)" = active ] && [ "$(show MainPID)" != "$pid" ]; }
wait_for 90 "a restart by the watchdog (WatchdogSec=10s) after SIGSTOP" restarted
journalctl -b --no-pager -o cat -u $unit | grep -i "watchdog timeout" || fail "lockdiagd restarted, but not for a watchdog timeout: $(status | tr '\n' ' ' | tail -c 300)"
echo "restarted: pid $pid -> $(show MainPID), NRestarts $(show NRestarts)"

step "systemctl stop is clean"
systemctl stop $unit
[ "$(show ActiveState)" = inactive ] || fail "lockdiagd is $(show ActiveState) after stop: $(status | tr '\n' ' ' | tail -c 300)"
[ "$(show Result)" = success ] || fail "stop ended with result $(show Result), not success"
[ ! -e $sock ] || fail "$sock still there after stop"
echo "ok"
