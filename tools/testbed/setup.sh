#!/bin/bash
# Prepare everything the rsmbd test guest needs, under $TESTBED_CACHE
# (default /var/cache/rsmbd-testbed).  Idempotent: every step is skipped when its output
# already exists, so a second run takes a second or two.
#
#   tools/testbed/setup.sh           # full setup: apt packages, kernel, SMB Direct modules, initramfs
#   tools/testbed/setup.sh initrd    # only rebuild the initramfs (after editing guest/init)
#   tools/testbed/setup.sh check     # exit 0 if everything is in place, 1 otherwise (no changes)
#
# Needs root and apt (Debian bookworm).  Installs ordinary userland packages on this machine
# (qemu, samba, fio, rdma userland, ...).  The guest KERNEL is only downloaded and extracted
# into the cache, never installed.  Cache layout:
#   apt-archives/   .debs of the host packages (apt's download cache, kept)
#   debs/           kernel image/headers/kbuild/source + ksmbd-tools .debs
#   kver.<meta>     the kernel ABI the meta-package resolved to on first setup
#   <kver>/         kernel/ (extracted image), kbuild/ (headers), src/ (fs/smb sources),
#                   build/ (cifs.ko + ksmbd.ko with SMB Direct), modules/ (module tree
#                   for the guest, depmod'ed), initrd.img
#   ksmbd-tools/    extracted ksmbd-tools (ksmbd.mountd, ksmbd.adduser, ksmbd.control)
#   jobs/<id>/      one directory per guest run (kept on failure)
# shellcheck disable=SC2015  # `[ a ] && [ b ] || die` is intended
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/config.sh"

log() { echo "[testbed-setup] $*" >&2; }
die() { echo "[testbed-setup] ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

mkdir -p "$TESTBED_CACHE/debs" "$TESTBED_CACHE/jobs" "$TESTBED_CACHE/apt-archives/partial"
# one setup at a time (two concurrent run-in-guest.sh on a fresh cache)
exec 9>"$TESTBED_CACHE/.setup.lock"
flock 9

APT_OPTS=(-o "Dir::Cache::Archives=$TESTBED_CACHE/apt-archives")
CLEAN=()   # paths removed on exit, whatever happens
trap 'rm -rf "${CLEAN[@]}"' EXIT

resolve_kver() {
	KVER=$(testbed_kver)
	if [ -z "$KVER" ]; then
		log "kernel meta-package $TESTBED_KMETA unknown to apt-cache: running apt-get update"
		apt-get update >"$TESTBED_CACHE/apt-update.log" 2>&1 || die "apt-get update failed, see $TESTBED_CACHE/apt-update.log"
		KVER=$(testbed_kver)
	fi
	[ -n "$KVER" ] || die "cannot resolve the guest kernel ($TESTBED_KMETA); set TESTBED_KVER"
	[ -n "${TESTBED_KVER:-}" ] || [ -s "$TESTBED_CACHE/kver.$TESTBED_KMETA" ] ||
		echo "$KVER" >"$TESTBED_CACHE/kver.$TESTBED_KMETA"
	W=$TESTBED_CACHE/$KVER
	MODROOT=$W/modules                 # depmod base dir
	MODDIR=$MODROOT/lib/modules/$KVER
	mkdir -p "$W"
}

missing_host_pkgs() {
	local p missing=""
	for p in $TESTBED_HOST_PKGS; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
	done
	echo "$missing"
}

step_host_packages() {
	local missing
	missing=$(missing_host_pkgs)
	[ -z "$missing" ] && return 0
	log "apt-get install$missing (log: $TESTBED_CACHE/apt-install.log)"
	# Samba's postinst would start smbd/nmbd on this machine.  A policy-rc.d that
	# exits 101 forbids that; create one for the duration of the install if absent.
	local prc=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		prc=/usr/sbin/policy-rc.d
		CLEAN+=("$prc")
		printf '#!/bin/sh\n# temporary, from rsmbd tools/testbed/setup.sh\nexit 101\n' >"$prc"
		chmod 0755 "$prc"
	fi
	# shellcheck disable=SC2086  # $missing is a list
	if ! apt-get install -y --no-install-recommends "${APT_OPTS[@]}" $missing >"$TESTBED_CACHE/apt-install.log" 2>&1; then
		log "apt-get install failed, retrying after apt-get update"
		apt-get update >>"$TESTBED_CACHE/apt-install.log" 2>&1 || true
		# shellcheck disable=SC2086
		apt-get install -y --no-install-recommends "${APT_OPTS[@]}" $missing >>"$TESTBED_CACHE/apt-install.log" 2>&1 ||
			{ tail -n 20 "$TESTBED_CACHE/apt-install.log" >&2; die "apt-get install failed, see $TESTBED_CACHE/apt-install.log"; }
	fi
	[ -z "$prc" ] || rm -f "$prc"
}

pkgver() { apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1; }
pkgdep() { # first dependency of package $1 whose name matches regex $2
	apt-cache show --no-all-versions "$1" | sed -n 's/^Depends: //p' | tr ',' '\n' |
		sed 's/^ *//; s/ .*//' | grep -E "$2" | head -n1
}

# fetch_deb NAME VERSION: apt-get download into $TESTBED_CACHE/debs once; prints the path
fetch_deb() {
	local name=$1 ver=$2 f pat
	pat="$TESTBED_CACHE/debs/${name}_${ver//:/%3a}_"
	f=$(compgen -G "${pat}*.deb" | head -n1 || true)
	if [ -z "$f" ]; then
		log "downloading $name=$ver"
		(cd "$TESTBED_CACHE/debs" && apt-get download "$name=$ver" >/dev/null 2>&1) || return 1
		f=$(compgen -G "${pat}*.deb" | head -n1 || true)
		[ -n "$f" ] || return 1
	fi
	echo "$f"
}

step_kernel() {
	[ -f "$W/kernel/boot/vmlinuz-$KVER" ] && return 0
	local ver deb
	ver=$(pkgver "linux-image-$KVER"); [ -n "$ver" ] || die "no package linux-image-$KVER"
	deb=$(fetch_deb "linux-image-$KVER" "$ver") || die "cannot download linux-image-$KVER=$ver"
	log "extracting $(basename "$deb")"
	rm -rf "$W/kernel.tmp"; mkdir -p "$W/kernel.tmp"
	dpkg-deb -x "$deb" "$W/kernel.tmp"
	rm -rf "$W/kernel"; mv "$W/kernel.tmp" "$W/kernel"
	echo "$ver" >"$W/kernel-version"
}

# Debian builds bookworm's kernels (6.1 and 6.12) WITHOUT CONFIG_CIFS_SMB_DIRECT and
# CONFIG_SMB_SERVER_SMBDIRECT: stock cifs.ko rejects "-o rdma", stock ksmbd.ko has no RDMA
# transport.  Rebuild just those two modules out of tree from the matching linux-source,
# against the matching linux-headers (same vermagic and modversions).  They are unsigned;
# this kernel loads them anyway (MODULE_SIG_FORCE=n) and logs "tainting kernel".
step_smbdirect_modules() {
	local cfg=$W/kernel/boot/config-$KVER
	if grep -q '^CONFIG_CIFS_SMB_DIRECT=y' "$cfg" && grep -q '^CONFIG_SMB_SERVER_SMBDIRECT=y' "$cfg"; then
		log "kernel already has SMB Direct, using the stock modules"; return 0
	fi
	[ "${TESTBED_SMBDIRECT:-1}" = 1 ] || { log "TESTBED_SMBDIRECT=0: keeping stock cifs/ksmbd"; return 0; }
	if [ -f "$W/build/cifs.ko" ] && [ -f "$W/build/ksmbd.ko" ]; then
		local newer
		newer=$(find "$TESTBED_DIR/patches" -name '*.patch' -newer "$W/build/ksmbd.ko" 2>/dev/null | head -n1)
		[ -z "$newer" ] && return 0
		log "patches changed since the last build: rebuilding the modules"
	fi
	local ver hdr common kbuild series src
	ver=$(cat "$W/kernel-version")
	hdr=linux-headers-$KVER
	common=$(pkgdep "$hdr" '^linux-headers-.*-common')
	kbuild=$(pkgdep "$hdr" '^linux-kbuild-')
	series=$(echo "$KVER" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
	src=linux-source-$series
	[ -n "$common" ] && [ -n "$kbuild" ] || die "cannot resolve the header packages of $hdr"

	local K=$W/kbuild p deb
	if [ ! -f "$K/.done" ]; then
		rm -rf "$K"; mkdir -p "$K"
		for p in "$hdr" "$common" "$kbuild"; do
			deb=$(fetch_deb "$p" "$(pkgver "$p")") || die "cannot download $p"
			log "extracting $p"
			dpkg-deb -x "$deb" "$K"
		done
		# the arch Makefile includes the -common tree by absolute /usr/src path: re-point it
		sed -i "s#^include /usr/src/#include $K/usr/src/#" "$K/usr/src/$hdr/Makefile"
		touch "$K/.done"
	fi

	# fs/smb plus the few files outside it that cifs/ksmbd include by relative path
	# (fs/internal.h for ksmbd's vfs.c, fs/nls/nls_ucs2_utils.h for 6.12 cifs) and the
	# asn1 compiler's source (linux-kbuild does not ship scripts/asn1_compiler).
	local S=$W/src
	local want="$src/fs/smb/* $src/fs/internal.h $src/fs/nls/* $src/scripts/asn1_compiler.c $src/include/linux/asn1*.h"
	if [ "$(cat "$S/.done" 2>/dev/null)" != "$want" ]; then
		local srcdeb
		# the source of exactly the image's version if the archive still has it
		srcdeb=$(fetch_deb "$src" "$ver") || {
			log "WARNING: $src=$ver not downloadable, using $src=$(pkgver "$src")"
			srcdeb=$(fetch_deb "$src" "$(pkgver "$src")") || die "cannot download $src"
		}
		log "extracting fs/smb from $(basename "$srcdeb") (decompresses the whole tarball: a minute or two)"
		rm -rf "$S"; mkdir -p "$S"
		# shellcheck disable=SC2086  # $want is a list of tar patterns
		dpkg-deb --fsys-tarfile "$srcdeb" |
			tar -xO "./usr/src/$src.tar.xz" | xz -dc -T0 |
			tar -x -C "$S" --strip-components=1 --wildcards $want
		echo "$want" >"$S/.done"
	fi
	local kscripts
	kscripts=$(readlink -f "$K/usr/src/$hdr/scripts")
	[ -x "$kscripts/asn1_compiler" ] ||
		gcc-12 -O2 -I"$S/include" -o "$kscripts/asn1_compiler" "$S/scripts/asn1_compiler.c"

	local B=$W/build pf
	rm -rf "$B"; mkdir -p "$B/fs"
	cp -a "$S/fs/." "$B/fs/"
	# Bed-only patches on this build copy (see patches/README.md); a patch that does not
	# apply to the selected kernel (fixed upstream there) is skipped with a message.
	for pf in "$TESTBED_DIR"/patches/*.patch; do
		[ -f "$pf" ] || continue
		if patch -d "$B" -p1 --forward --no-backup-if-mismatch --dry-run <"$pf" >/dev/null 2>&1; then
			patch -d "$B" -p1 --forward --no-backup-if-mismatch <"$pf" >/dev/null
			log "applied $(basename "$pf")"
		else
			log "skipped $(basename "$pf"): does not apply to this kernel's source"
		fi
	done
	log "building cifs.ko with CONFIG_CIFS_SMB_DIRECT=y"
	make -C "$K/usr/src/$hdr" M="$B/fs/smb/client" -j"$(nproc)" \
		CONFIG_CIFS=m CONFIG_CIFS_SMB_DIRECT=y KCFLAGS=-DCONFIG_CIFS_SMB_DIRECT=1 \
		CONFIG_DEBUG_INFO_BTF_MODULES= modules >"$B/cifs-build.log" 2>&1 ||
		{ tail -n 20 "$B/cifs-build.log" >&2; die "cifs build failed, see $B/cifs-build.log"; }
	log "building ksmbd.ko with CONFIG_SMB_SERVER_SMBDIRECT=y"
	make -C "$K/usr/src/$hdr" M="$B/fs/smb/server" -j"$(nproc)" \
		CONFIG_SMB_SERVER=m CONFIG_SMB_SERVER_SMBDIRECT=y KCFLAGS=-DCONFIG_SMB_SERVER_SMBDIRECT=1 \
		CONFIG_DEBUG_INFO_BTF_MODULES= modules >"$B/ksmbd-build.log" 2>&1 ||
		{ tail -n 20 "$B/ksmbd-build.log" >&2; die "ksmbd build failed, see $B/ksmbd-build.log"; }
	cp "$B/fs/smb/client/cifs.ko" "$B/fs/smb/server/ksmbd.ko" "$B/"
	strip --strip-debug "$B/cifs.ko" "$B/ksmbd.ko"
	rm -rf "$MODROOT"   # the module tree must pick up the new .ko files
}

step_module_tree() {
	[ -f "$MODDIR/modules.dep" ] && return 0
	log "assembling the guest module tree + depmod"
	rm -rf "$MODROOT"; mkdir -p "$MODROOT/lib/modules"
	cp -al "$W/kernel/lib/modules/$KVER" "$MODDIR"      # hard links: cheap
	if [ -f "$W/build/cifs.ko" ]; then
		mkdir -p "$MODDIR/updates"                      # depmod prefers updates/ over kernel/
		cp "$W/build/cifs.ko" "$W/build/ksmbd.ko" "$MODDIR/updates/"
	fi
	depmod -b "$MODROOT" "$KVER"
}

step_ksmbd_tools() {
	# Debian's ksmbd-tools Conflicts: samba: extract it, guests run it from the cache.
	[ -x "$TESTBED_CACHE/ksmbd-tools/usr/sbin/ksmbd.mountd" ] && return 0
	local deb
	deb=$(fetch_deb ksmbd-tools "$(pkgver ksmbd-tools)") || die "cannot download ksmbd-tools"
	rm -rf "$TESTBED_CACHE/ksmbd-tools.tmp"
	dpkg-deb -x "$deb" "$TESTBED_CACHE/ksmbd-tools.tmp"
	rm -rf "$TESTBED_CACHE/ksmbd-tools"; mv "$TESTBED_CACHE/ksmbd-tools.tmp" "$TESTBED_CACHE/ksmbd-tools"
}

initrd_fresh() {
	local out=$W/initrd.img
	[ -f "$out" ] && [ "$out" -nt "$TESTBED_DIR/guest/init" ] && [ "$out" -nt "$MODDIR/modules.dep" ]
}

step_initrd() {
	initrd_fresh && return 0
	log "building the initramfs"
	local T out=$W/initrd.img m f rel
	T=$(mktemp -d "$TESTBED_CACHE/initrd.XXXXXX")
	CLEAN+=("$T")
	mkdir -p "$T/bin" "$T/proc" "$T/sys" "$T/dev" "$T/lib/modules"
	cp /bin/busybox "$T/bin/busybox"
	install -m 0755 "$TESTBED_DIR/guest/init" "$T/init"
	: >"$T/modules.list"
	for m in $TESTBED_INITRD_MODS; do
		modprobe -d "$MODROOT" -S "$KVER" --show-depends "$m" || die "module $m not found"
	done | awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++' | while read -r f; do
		rel=${f#"$MODDIR/"}
		mkdir -p "$T/lib/modules/$(dirname "$rel")"
		# busybox insmod cannot read compressed modules: decompress them here
		case "$f" in
		*.ko.xz) rel=${rel%.xz}; xz -dc "$f" >"$T/lib/modules/$rel" ;;
		*.ko.zst) rel=${rel%.zst}; zstd -qdc "$f" >"$T/lib/modules/$rel" ;;
		*) cp "$f" "$T/lib/modules/$rel" ;;
		esac
		echo "$rel" >>"$T/modules.list"
	done
	(cd "$T" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
	mv "$out.tmp" "$out"
	rm -rf "$T"
}

all_ready() {
	[ -z "$(missing_host_pkgs)" ] && [ -f "$W/kernel/boot/vmlinuz-$KVER" ] &&
		[ -f "$MODDIR/modules.dep" ] && [ -x "$TESTBED_CACHE/ksmbd-tools/usr/sbin/ksmbd.mountd" ] &&
		initrd_fresh
}

case "${1:-all}" in
all)
	T0=$SECONDS
	step_host_packages
	resolve_kver
	step_kernel
	step_smbdirect_modules
	step_module_tree
	step_ksmbd_tools
	step_initrd
	log "ready: guest kernel $KVER ($(cat "$W/kernel-version")), cache $TESTBED_CACHE, $((SECONDS - T0)) s"
	;;
initrd) resolve_kver; step_initrd ;;
check)
	KVER=$(testbed_kver); [ -n "$KVER" ] || exit 1
	W=$TESTBED_CACHE/$KVER MODROOT=$TESTBED_CACHE/$KVER/modules MODDIR=$TESTBED_CACHE/$KVER/modules/lib/modules/$KVER
	all_ready
	;;
*) die "usage: $0 [all|initrd|check]" ;;
esac
