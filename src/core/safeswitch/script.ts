/**
 * The safe-switch program that runs on the target, as one POSIX sh script. It is sent as the `-c` argument of
 * `sh` (over ssh: on stdin of /bin/sh, see core/target) and every value travels as a positional argument, never
 * spliced into the text. The script holds no backslashes, so that no shell's quoting rules can alter it.
 *
 * Modes (first argument):
 *   probe                                   print `systemd=yes|no`, `setsid=yes|no`
 *   start STATE ID SECS NEW RUNDIR ACTTIMEOUT LAUNCHER SCRIPT TRANSTIMEOUT NBEFORE NAFTER NREVERT
 *         [BEFORE-ARGV... AFTER-ARGV... REVERT-ARGV...] [-- SYSTEMD-RUN-ARGV...]
 *                                           take the lock, remember the activated system, keep the transition
 *                                           commands (NBEFORE words, NAFTER words, NREVERT words; 0: none), start
 *                                           the watchdog
 *   run STATE ID SECS NEW PREV ACTTIMEOUT   (the watchdog) run the `before` transition command (a failure reverts
 *                                           before anything was activated), activate NEW with `test`, run the
 *                                           `after` command (a failure reverts), wait SECS for a confirmation, else
 *                                           activate PREV with `test`; every revert then runs the `revert` command;
 *                                           the boot default is never touched
 *   status STATE ID                         print the events so far
 *   revert STATE ID REASON                  ask the watchdog to revert now
 *   confirm STATE ID PROFILE                keep NEW: set the profile to it, `switch-to-configuration boot`
 *   backstop STATE ID PREV                  (a systemd timer) revert when the watchdog died without deciding
 *
 * With systemd, `start` also arms a transient timer, `<unit>-backstop`, at SECS + ACTTIMEOUT + 10 s with
 * `AccuracySec=100ms` (systemd's default of one minute would let it fire up to a minute late): if the watchdog unit
 * is killed or crashes, the timer still puts PREV back. Whoever decides stops the timer. TRANSTIMEOUT (the time the
 * transition commands may take) is added to the timer's delay.
 *
 * A transition command (a state migration that must happen before the new system starts its services, a user
 * hook) is an argv kept one word per line in `ID/cmd-before`, `ID/cmd-after`, `ID/cmd-revert` (a word holding a
 * newline is refused) and read back into "$@": no word is ever parsed by a shell. Its output goes to
 * `ID/transition-output`.
 *
 * Files under STATE (default /run/nixos-generations/safe-switch, on tmpfs: a reboot forgets everything, and the
 * boot default was never changed): `lock/` (`id`, `pid`: one switch at a time), `takeover-ID/` (the one
 * starter that took over the stale lock of switch ID), `ID/events` (one line per event:
 * `<epoch ms> <event> <detail>`), `ID/decided/` (created by whoever decides first: the confirmation or the
 * watchdog; mkdir is atomic, so exactly one wins), `ID/revert-request`, `ID/output` (activation output).
 */
export const SAFE_SWITCH_SCRIPT = `set -u
nl='
'
mode=\${1:-}
[ $# -gt 0 ] && shift

now_ms() {
  t=$(date +%s%3N 2>/dev/null)
  case $t in
    ''|*[!0-9]*) t=$(( $(date +%s) * 1000 )) ;;
  esac
  printf '%s' "$t"
}
fail() { printf 'error=%s%s' "$1" "$nl"; exit "\${2:-2}"; }
check_id() {
  case $1 in
    ''|*[!A-Za-z0-9_-]*) fail "invalid safe-switch id" ;;
  esac
}
check_num() {
  case $1 in
    ''|*[!0-9]*) fail "invalid number: $1" ;;
  esac
}
ev() { printf '%s %s %s%s' "$(now_ms)" "$1" "\${2:-}" "$nl" >> "$dir/events"; }
stop_backstop() {
  systemctl stop "nixgen-safe-switch-$id-backstop.timer" > /dev/null 2>&1 || true
}
release_lock() {
  if [ "$(cat "$state/lock/id" 2>/dev/null)" = "$id" ]; then rm -rf "$state/lock"; fi
}
alive() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
  [ "$(cut -d ' ' -f 3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}
pause() { sleep 0.1 2>/dev/null || sleep 1; }
# runs the transition command kept in $dir/cmd-NAME (one word per line), if any; returns its exit code
run_cmd() {
  f=$dir/cmd-$1
  [ -s "$f" ] || return 0
  set --
  while IFS= read -r w; do set -- "$@" "$w"; done < "$f"
  "$@" >> "$dir/transition-output" 2>&1
}
# the revert command after PREV is active again (its services back on their old state)
run_revert_cmd() {
  [ -s "$dir/cmd-revert" ] || return 0
  run_cmd revert
  rc=$?
  if [ $rc -eq 0 ]; then ev transition-reverted ""; else ev transition-revert-failed "$rc"; fi
}

case $mode in
probe)
  if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then s=yes; else s=no; fi
  if command -v setsid >/dev/null 2>&1; then d=yes; else d=no; fi
  printf 'systemd=%s%ssetsid=%s%s' "$s" "$nl" "$d" "$nl"
  ;;

start)
  [ $# -ge 12 ] || fail "start: missing arguments"
  state=$1; id=$2; secs=$3; new=$4; rundir=$5; acttimeout=$6; launcher=$7; script=$8
  transtimeout=$9; shift 9; nbefore=$1; nafter=$2; nrevert=$3
  shift 3
  check_id "$id"; check_num "$secs"; check_num "$acttimeout"
  check_num "$transtimeout"; check_num "$nbefore"; check_num "$nafter"; check_num "$nrevert"
  [ $# -ge $((nbefore + nafter + nrevert)) ] || fail "start: missing transition command words"
  dir=$state/$id
  [ -x "$new/bin/switch-to-configuration" ] || fail "$new/bin/switch-to-configuration is missing: not a NixOS system"
  prev=$(readlink -f "$rundir/current-system" 2>/dev/null)
  [ -n "$prev" ] && [ -x "$prev/bin/switch-to-configuration" ] || fail "cannot find the activated system ($rundir/current-system) to revert to"
  mkdir -p "$state" || fail "cannot create $state"
  if ! mkdir "$state/lock" 2>/dev/null; then
    other=$(cat "$state/lock/id" 2>/dev/null)
    opid=$(cat "$state/lock/pid" 2>/dev/null)
    if [ -z "$opid" ] || alive "$opid"; then
      printf 'busy=%s%s' "\${other:-unknown}" "$nl"; exit 75
    fi
    # Taking over is one mkdir named after the dead owner: of all who found it dead, exactly one creates it;
    # the marker stays, so a late starter that saw the same dead owner cannot remove the winner's new lock.
    case $other in ''|*[!A-Za-z0-9-]*) printf 'busy=unknown%s' "$nl"; exit 75 ;; esac
    if ! mkdir "$state/takeover-$other" 2>/dev/null; then printf 'busy=%s%s' "$other" "$nl"; exit 75; fi
    rm -rf "$state/lock"
    if ! mkdir "$state/lock" 2>/dev/null; then printf 'busy=unknown%s' "$nl"; exit 75; fi
    printf 'stale-lock=%s%s' "\${other:-unknown}" "$nl"
  fi
  printf '%s' "$$" > "$state/lock/pid"
  printf '%s' "$id" > "$state/lock/id"
  if ! mkdir "$dir" 2>/dev/null; then release_lock; fail "safe switch $id already exists"; fi
  printf '%s' "$script" > "$dir/watchdog.sh"
  : > "$dir/events"
  for part in before after revert; do
    case $part in before) n=$nbefore ;; after) n=$nafter ;; *) n=$nrevert ;; esac
    : > "$dir/cmd-$part"
    while [ "$n" -gt 0 ]; do
      case $1 in *"$nl"*) release_lock; fail "a transition command word holds a newline" ;; esac
      printf '%s%s' "$1" "$nl" >> "$dir/cmd-$part"
      shift; n=$((n - 1))
    done
  done
  [ "\${1:-}" = "--" ] && shift
  shell=$(command -v sh)
  use=detached
  if [ "$launcher" != detached ] && [ $# -gt 0 ] && [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
    use=systemd
  fi
  [ "$launcher" = systemd ] && [ "$use" != systemd ] && { release_lock; fail "systemd-run is not usable on this machine"; }
  if [ "$use" = systemd ]; then
    "$@" "$shell" "$dir/watchdog.sh" run "$state" "$id" "$secs" "$new" "$prev" "$acttimeout" > "$dir/launcher.log" 2>&1 || {
      release_lock; fail "systemd-run failed: $(tail -n 3 "$dir/launcher.log" | tr '[:cntrl:]' ' ')"; }
    if systemd-run --unit="nixgen-safe-switch-$id-backstop" --description="NixOS Generations safe switch $id backstop" \
      --on-active="$((secs + acttimeout + transtimeout + 10))" --timer-property=AccuracySec=100ms --collect --quiet --no-ask-password \
      "$shell" "$dir/watchdog.sh" backstop "$state" "$id" "$prev" >> "$dir/launcher.log" 2>&1; then
      backstop=timer
    else
      backstop=none
    fi
  elif command -v setsid >/dev/null 2>&1; then
    setsid nohup "$shell" "$dir/watchdog.sh" run "$state" "$id" "$secs" "$new" "$prev" "$acttimeout" < /dev/null > "$dir/watchdog.log" 2>&1 &
  else
    nohup "$shell" "$dir/watchdog.sh" run "$state" "$id" "$secs" "$new" "$prev" "$acttimeout" < /dev/null > "$dir/watchdog.log" 2>&1 &
  fi
  n=0
  while [ ! -s "$dir/pid" ]; do
    n=$((n + 1))
    if [ $n -gt 100 ]; then release_lock; fail "the watchdog did not start: $(tail -n 3 "$dir/watchdog.log" 2>/dev/null | tr '[:cntrl:]' ' ')"; fi
    pause
  done
  wpid=$(cat "$dir/pid")
  printf '%s' "$wpid" > "$state/lock/pid"
  printf 'id=%s%slauncher=%s%sprevious=%s%spid=%s%sbackstop=%s%s' "$id" "$nl" "$use" "$nl" "$prev" "$nl" "$wpid" "$nl" "\${backstop:-none}" "$nl"
  ;;

run)
  state=$1; id=$2; secs=$3; new=$4; prev=$5; acttimeout=$6
  dir=$state/$id
  printf '%s' "$$" > "$dir/pid.tmp" && mv "$dir/pid.tmp" "$dir/pid"
  ev started "$$"
  revert() {
    if ! mkdir "$dir/decided" 2>/dev/null; then ev watchdog-stopped "confirmed"; exit 0; fi
    printf 'revert' > "$dir/decided/by"
    ev reverting "$1"
    "$prev/bin/switch-to-configuration" test >> "$dir/output" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then ev reverted "$1"; else ev revert-failed "switch-to-configuration test of $prev exited with $rc; $1"; fi
    run_revert_cmd
    stop_backstop
    release_lock
    exit 0
  }
  # A transition phase (before|after), when one was given; a failure reverts, with $2 added to the reason.
  run_phase() {
    [ -s "$dir/cmd-$1" ] || return 0
    ev transition-running "$1"
    run_cmd "$1"
    rc=$?
    [ $rc -eq 0 ] || revert "the transition $1 activation failed (exit $rc)$2"
    ev transition-done "$1"
  }
  run_phase before "; the new configuration was not activated"
  ev activating "$new"
  ( "$new/bin/switch-to-configuration" test >> "$dir/output" 2>&1; printf '%s' "$?" > "$dir/activation-rc" ) &
  apid=$!
  limit=$(( $(now_ms) + acttimeout * 1000 ))
  while [ ! -s "$dir/activation-rc" ]; do
    if [ "$(now_ms)" -ge "$limit" ]; then
      kill "$apid" 2>/dev/null
      revert "activation took longer than $acttimeout s"
    fi
    pause
  done
  rc=$(cat "$dir/activation-rc")
  [ "$rc" = 0 ] || revert "activation of the new configuration failed (switch-to-configuration test exited with $rc)"
  run_phase after ""
  deadline=$(( $(now_ms) + secs * 1000 ))
  ev waiting "$deadline"
  while :; do
    if [ -d "$dir/decided" ]; then ev watchdog-stopped "confirmed"; exit 0; fi
    if [ -f "$dir/revert-request" ]; then revert "$(head -n 1 "$dir/revert-request")"; fi
    if [ "$(now_ms)" -ge "$deadline" ]; then revert "not confirmed within $secs s"; fi
    pause
  done
  ;;

status)
  state=$1; id=$2
  check_id "$id"
  dir=$state/$id
  [ -f "$dir/events" ] || fail "no safe switch $id on this machine"
  cat "$dir/events"
  wpid=$(cat "$dir/pid" 2>/dev/null)
  if alive "$wpid"; then printf '0 watchdog-alive %s%s' "$wpid" "$nl"; fi
  ;;

revert)
  state=$1; id=$2; reason=$3
  check_id "$id"
  dir=$state/$id
  [ -f "$dir/events" ] || fail "no safe switch $id on this machine"
  printf '%s%s' "$reason" "$nl" > "$dir/revert-request.tmp" && mv "$dir/revert-request.tmp" "$dir/revert-request"
  printf 'ok=revert requested%s' "$nl"
  ;;

confirm)
  state=$1; id=$2; profile=$3
  check_id "$id"
  dir=$state/$id
  [ -f "$dir/events" ] || fail "no safe switch $id on this machine"
  grep -q '^[0-9]* waiting ' "$dir/events" || fail "the new configuration is not active yet"
  new=$(sed -n 's/^[0-9]* activating //p' "$dir/events" | head -n 1)
  if ! mkdir "$dir/decided" 2>/dev/null; then
    printf 'too-late=%s%s' "$(cat "$dir/decided/by" 2>/dev/null)" "$nl"
    exit 3
  fi
  printf 'confirm' > "$dir/decided/by"
  if [ "$(cat "$state/lock/id" 2>/dev/null)" = "$id" ]; then printf '%s' "$$" > "$state/lock/pid"; fi
  ev confirmed ""
  wpid=$(cat "$dir/pid" 2>/dev/null)
  n=0
  while alive "$wpid" && [ $n -lt 50 ]; do n=$((n + 1)); pause; done
  if alive "$wpid"; then kill "$wpid" 2>/dev/null; fi
  # a system that is a generation of the profile already becomes the boot default by number, as "Switch to This
  # Generation" does (no new generation for an old one); anything else (a fresh build) is added with --set
  gen=
  for l in "$profile"-*-link; do
    [ -L "$l" ] || continue
    [ "$(readlink -f "$l")" = "$new" ] || continue
    n=\${l%-link}; n=\${n##*-}
    case $n in *[!0-9]* | '') continue ;; esac
    if [ -z "$gen" ] || [ "$n" -gt "$gen" ]; then gen=$n; fi
  done
  if [ -n "$gen" ]; then set -- --switch-generation "$gen"; else set -- --set "$new"; fi
  if ! nix-env -p "$profile" "$@" >> "$dir/output" 2>&1; then
    ev boot-default-failed "nix-env -p $profile $1 failed"
    release_lock
    fail "the new configuration stays active, but setting the profile failed: $(tail -n 2 "$dir/output" | tr '[:cntrl:]' ' ')" 4
  fi
  "$new/bin/switch-to-configuration" boot >> "$dir/output" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    ev boot-default-failed "switch-to-configuration boot exited with $rc"
    release_lock
    fail "the new configuration stays active, but switch-to-configuration boot exited with $rc" 4
  fi
  ev boot-default "$new"
  stop_backstop
  release_lock
  printf 'ok=kept%s' "$nl"
  ;;

backstop)
  state=$1; id=$2; prev=$3
  check_id "$id"
  dir=$state/$id
  [ -f "$dir/events" ] || exit 0
  [ -d "$dir/decided" ] && exit 0
  wpid=$(cat "$dir/pid" 2>/dev/null)
  if alive "$wpid"; then kill "$wpid" 2>/dev/null; fi
  mkdir "$dir/decided" 2>/dev/null || exit 0
  printf 'revert' > "$dir/decided/by"
  why="the watchdog ended without deciding (backstop timer)"
  ev reverting "$why"
  "$prev/bin/switch-to-configuration" test >> "$dir/output" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then ev reverted "$why"; else ev revert-failed "switch-to-configuration test of $prev exited with $rc; $why"; fi
  run_revert_cmd
  release_lock
  ;;

*)
  fail "unknown mode: $mode"
  ;;
esac
`;
