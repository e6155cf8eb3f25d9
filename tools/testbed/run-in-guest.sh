#!/bin/bash
# Boot a throw-away QEMU guest (Debian bookworm stock kernel, cifs/ksmbd rebuilt with SMB
# Direct), run SCRIPT in it as root, stream its output, power off, exit with its status.
#
#   tools/testbed/run-in-guest.sh [options] SCRIPT [ARGS...]
#   tools/testbed/run-in-guest.sh -i              # interactive shell on the serial console
#
# Options (environment variable in brackets):
#   -m MEM      guest RAM (default 4G)                          [TESTBED_MEM]
#   -c N        vCPUs (default 2)                               [TESTBED_SMP]
#   -t SECS     wall-clock limit for the whole run (default 3600) [TESTBED_TIMEOUT]
#   -b SECS     limit for the guest to reach SCRIPT (default 180) [TESTBED_BOOT_TIMEOUT]
#   -a ACCEL    tcg (default) or kvm                            [TESTBED_ACCEL]
#   -e VAR=VAL  export VAR into SCRIPT's environment (repeatable)
#   -k          keep the job directory even on success (kept on failure anyway)
#   -v          also stream the guest kernel console to stderr
#   -i          interactive: bash on the serial console instead of SCRIPT (Ctrl-A x quits)
#
# Exit status: SCRIPT's status; 124 if the run hit the -t limit; 125 if the guest did not
# boot / did not report a status; 2 on usage or setup errors.
# Variables named RSMBD_*, MATRIX_*, FIO_* and TESTBED_NET_MODE are passed into the guest.
#
# The guest sees this machine's / read-only (virtio-9p) under a tmpfs overlay, so host
# programs and build outputs (target/release/rsmbd) run in it; the host's /tmp and /run are
# NOT visible (fresh tmpfs there).  The job directory is mounted read-write at
# /testbed-job ($TESTBED_JOB): what the script writes there survives, under
# $TESTBED_CACHE/jobs/<id>/ on the host.  The guest has no NIC (-nic none).
# If the cache is incomplete, setup.sh runs first.
# shellcheck disable=SC2015,SC2054  # `[ a ] && [ b ] || die` intended; commas are qemu syntax
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/config.sh"

MEM=${TESTBED_MEM:-4G}
SMP=${TESTBED_SMP:-2}
TIMEOUT=${TESTBED_TIMEOUT:-3600}
BOOT_TIMEOUT=${TESTBED_BOOT_TIMEOUT:-180}
ACCEL=${TESTBED_ACCEL:-tcg}
KEEP=0 VERBOSE=0 INTERACTIVE=0
EXPORTS=()
usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts "m:c:t:b:a:e:kvih" o; do
	case $o in
	m) MEM=$OPTARG ;; c) SMP=$OPTARG ;; t) TIMEOUT=$OPTARG ;; b) BOOT_TIMEOUT=$OPTARG ;;
	a) ACCEL=$OPTARG ;; e) EXPORTS+=("$OPTARG") ;; k) KEEP=1 ;; v) VERBOSE=1 ;; i) INTERACTIVE=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $INTERACTIVE = 1 ] || [ $# -ge 1 ] || usage
say() { echo "[testbed] $*" >&2; }
die() { echo "[testbed] ERROR: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "must run as root"
if [ $INTERACTIVE = 0 ]; then
	[ -f "$1" ] && [ -r "$1" ] || die "no such script: $1"
fi
T_START=$(date +%s.%N)

if ! "$TESTBED_DIR/setup.sh" check; then
	say "cache $TESTBED_CACHE incomplete or stale: running setup.sh"
	"$TESTBED_DIR/setup.sh" all || die "setup.sh failed"
fi
KVER=$(testbed_kver)
W=$TESTBED_CACHE/$KVER
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not installed (setup.sh)"
[ -f "$W/kernel/boot/vmlinuz-$KVER" ] && [ -f "$W/initrd.img" ] || die "no guest kernel/initrd under $W"

mkdir -p "$TESTBED_CACHE/jobs"
JOB=$(mktemp -d "$TESTBED_CACHE/jobs/$(date +%Y%m%d-%H%M%S).XXXX")
install -m 0755 "$TESTBED_DIR/guest/stage2.sh" "$JOB/stage2.sh"
if [ $INTERACTIVE = 0 ]; then
	install -m 0755 "$1" "$JOB/script"
	SCRIPT_NAME=$1
	shift
fi
{
	printf 'TESTBED_MODDIR=%q\n' "$W/modules/lib/modules"
	printf 'TESTBED_DIR=%q\n' "$TESTBED_DIR"
	printf 'TESTBED_CACHE=%q\n' "$TESTBED_CACHE"
	printf 'TESTBED_KSMBD_TOOLS=%q\n' "$TESTBED_CACHE/ksmbd-tools/usr/sbin"
	printf 'TESTBED_INTERACTIVE=%q\n' "$([ $INTERACTIVE = 1 ] && echo 1)"
	printf 'TESTBED_ARGV=('; [ $# -gt 0 ] && printf '%q ' "$@"; printf ')\n'
	while IFS= read -r v; do
		printf 'export %s=%q\n' "$v" "${!v}"
	done < <(compgen -e | grep -E '^(RSMBD_|MATRIX_|FIO_|TESTBED_NET_MODE$)' || true)
	for e in ${EXPORTS[@]+"${EXPORTS[@]}"}; do
		[[ $e == [A-Za-z_]*=* ]] || die "-e wants VAR=VALUE, got: $e"
		printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
	done
} >"$JOB/vm.env"
: >"$JOB/output.log"

case $ACCEL in
tcg) ACCEL_ARGS=(-accel tcg,thread=multi,tb-size=512 -cpu "${TESTBED_CPU:-max}") ;;
# kvm: for hosts with real VT-x/AMD-V; under nested PVM a stock kernel never boots (README)
kvm) ACCEL_ARGS=(-accel kvm -cpu "${TESTBED_CPU:-host,-arch-capabilities}") ;;
*) die "unknown accelerator $ACCEL (tcg|kvm)" ;;
esac
if [ $INTERACTIVE = 1 ]; then SERIAL=(-serial mon:stdio); else SERIAL=(-serial "file:$JOB/console.log"); fi

QEMU=(qemu-system-x86_64 "${ACCEL_ARGS[@]}" -smp "$SMP" -m "$MEM"
	-nodefaults -no-user-config -display none -nic none -no-reboot "${SERIAL[@]}"
	-kernel "$W/kernel/boot/vmlinuz-$KVER" -initrd "$W/initrd.img"
	-append "console=ttyS0 panic=-1 rdinit=/init quiet loglevel=4 testbed.tmpfs=80%"
	-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
	-fsdev "local,id=job,path=$JOB,security_model=none,multidevs=remap"
	-device virtio-9p-pci,fsdev=job,mount_tag=job)
# shellcheck disable=SC2206  # deliberate word splitting of extra qemu arguments
[ -z "${TESTBED_QEMU_EXTRA:-}" ] || QEMU+=(${TESTBED_QEMU_EXTRA})

T_QEMU=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say "kernel $KVER, $ACCEL, $SMP vCPU, $MEM, job $JOB; pre-boot $(elapsed "$T_START") s"
set +e
if [ $INTERACTIVE = 1 ]; then
	timeout -k 10 "$TIMEOUT" "${QEMU[@]}"
	QRC=$?
	BOOTED=1
else
	timeout -k 10 "$TIMEOUT" "${QEMU[@]}" </dev/null >"$JOB/qemu.log" 2>&1 &
	QPID=$!
	trap 'kill -TERM $QPID 2>/dev/null' INT TERM
	TAILS=()
	if [ $VERBOSE = 1 ]; then
		tail -n +1 -s 0.2 --pid=$QPID -F "$JOB/console.log" >&2 2>/dev/null &
		TAILS+=($!)
	fi
	tail -n +1 -s 0.2 --pid=$QPID -F "$JOB/output.log" 2>/dev/null &
	TAILS+=($!)
	# boot watchdog: the guest must reach SCRIPT within BOOT_TIMEOUT seconds
	BOOTED=0
	while kill -0 $QPID 2>/dev/null; do
		if [ -f "$JOB/uptime-at-start" ]; then BOOTED=1; break; fi
		if [ "$(elapsed "$T_QEMU" | cut -d. -f1)" -ge "$BOOT_TIMEOUT" ]; then
			say "ERROR: guest did not reach the script within ${BOOT_TIMEOUT} s: killing qemu"
			kill -TERM $QPID 2>/dev/null
			break
		fi
		sleep 0.2
	done
	[ $BOOTED = 1 ] && say "guest up, script started $(elapsed "$T_QEMU") s after qemu launch (guest uptime $(cat "$JOB/uptime-at-start") s)"
	wait $QPID
	QRC=$?
	wait "${TAILS[@]}" 2>/dev/null
fi
set -e
WALL=$(elapsed "$T_START")

if [ -f "$JOB/rc" ]; then
	RC=$(cat "$JOB/rc")
	say "${SCRIPT_NAME:-shell}: exit status $RC; total wall ${WALL} s"
else
	if [ $QRC = 124 ] || [ $QRC = 137 ]; then
		RC=124
		say "ERROR: TIMEOUT: the run exceeded ${TIMEOUT} s (-t) and qemu was killed"
	else
		RC=125
		if [ $BOOTED = 0 ]; then
			say "ERROR: the guest failed to boot (qemu exit status $QRC)"
		else
			say "ERROR: the guest script did not report a status (qemu exit status $QRC; guest crash?)"
		fi
	fi
	say "last guest console lines ($JOB/console.log):"
	tail -n 40 "$JOB/console.log" >&2 2>/dev/null || true
	if [ -s "$JOB/qemu.log" ]; then say "qemu said:"; tail -n 20 "$JOB/qemu.log" >&2; fi
fi
if [ "$RC" = 0 ] && [ $KEEP = 0 ]; then
	rm -rf "$JOB"
else
	say "job directory kept: $JOB"
fi
exit "$RC"
