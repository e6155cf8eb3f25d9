# Shared settings for tools/testbed/*.sh (sourced, not executed).
# shellcheck shell=bash disable=SC2034  # variables are used by the scripts sourcing this
#
# Everything downloaded or built lives under $TESTBED_CACHE.  The guest kernel is only
# downloaded and extracted there (dpkg-deb -x), never installed on this machine.

TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${TESTBED_CACHE:=/var/cache/rsmbd-testbed}"

# Guest kernel, chosen through a Debian bookworm meta-package:
#   TESTBED_KMETA=linux-image-6.12-amd64 (default) -> 6.12.NNN+deb12-amd64 (bookworm-security)
#   TESTBED_KMETA=linux-image-amd64                -> 6.1.0-NN-amd64 (bookworm default)
# or pin an exact ABI with TESTBED_KVER=6.12.117+deb12-amd64.
# 6.12 is the default: SMB Direct over rxe at queue depth > 1 hangs on 6.1 (see README).
# The first resolution is remembered in $TESTBED_CACHE/kver.<meta> so the bed does not
# move when Debian publishes a new kernel ABI (delete that file to follow the archive).
: "${TESTBED_KMETA:=linux-image-6.12-amd64}"
testbed_kver() {
	if [ -n "${TESTBED_KVER:-}" ]; then echo "$TESTBED_KVER"; return; fi
	if [ -s "$TESTBED_CACHE/kver.$TESTBED_KMETA" ]; then cat "$TESTBED_CACHE/kver.$TESTBED_KMETA"; return; fi
	apt-cache depends "$TESTBED_KMETA" 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n1
}

# Host packages.  qemu + busybox run the VM; everything else is userland the guest runs
# (its root file system is this machine's /, so the programs must be installed here).
# ksmbd-tools is deliberately absent: it Conflicts: samba, setup.sh extracts it instead.
TESTBED_HOST_PKGS="qemu-system-x86 busybox-static kmod cpio xz-utils gzip patch
 gcc-12 make libc6-dev binutils
 samba smbclient cifs-utils
 rdma-core ibverbs-utils ibverbs-providers rdmacm-utils perftest
 fio iproute2 procps util-linux python3 libnl-3-200 libnl-genl-3-200 libglib2.0-0"

# Modules packed into the initramfs: only what is needed to reach the 9p root file
# system; everything else is modprobe'd inside the guest from the bind-mounted tree.
TESTBED_INITRD_MODS="virtio_pci 9pnet_virtio 9p overlay"
