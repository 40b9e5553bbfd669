#!/usr/bin/env bash
# Build the guest assets used by the end-to-end tests (tests/e2e):
#
#   OUT/vmlinux            uncompressed kernel extracted from Debian's vmlinuz
#   OUT/initramfs.cpio.gz  busybox + iperf3 + ethtool + virtio modules + /init
#   OUT/kernel-release     the kernel release string (e.g. 6.1.0-56-amd64)
#
# Usage: scripts/build-guest.sh [OUT]      (default: $RS_GUEST_DIR or build/guest)
#
# Everything comes from Debian's package registry through `apt-get download`
# (no root needed for that, no package is installed).  Needs on the host:
# apt-get, dpkg-deb (Debian package dpkg) and python3 (Debian package python3;
# the stdlib's lzma/gzip/zlib do the decompression and the cpio writing).  A
# kernel whose vmlinuz is zstd-compressed also needs the `zstd` tool (Debian
# package zstd); Debian 12's 6.1 kernels are xz-compressed.
#
# Idempotent: when both outputs exist and are newer than this script, nothing
# is done.  Set RS_GUEST_REBUILD=1 to force a rebuild.
#
# The guest's /init reads its settings from the kernel command line with plain
# (dot-free) names, since keys containing a dot are taken as module parameters:
#   rsip=ADDR/LEN   address for eth0 (no address: eth0 is left down)
#   rsmq=N          ethtool -L eth0 combined N (multiqueue virtio-net)
#   rsmtu=N         MTU of eth0
#   rsname=NAME     hostname, also shown in the prompt
# It prints "rs-init: ready" on the console once eth0 is configured, then runs
# a shell on the console (ttyS0) forever.
set -euo pipefail

die() { echo "build-guest: error: $*" >&2; exit 1; }
log() { echo "build-guest: $*" >&2; }

SCRIPT="$(readlink -f "${BASH_SOURCE[0]}")"
REPO="$(cd "$(dirname "$SCRIPT")/.." && pwd)"
OUT="${1:-${RS_GUEST_DIR:-$REPO/build/guest}}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

if [[ "${RS_GUEST_REBUILD:-0}" != 1 && -s "$OUT/vmlinux" && -s "$OUT/initramfs.cpio.gz" &&
      "$OUT/vmlinux" -nt "$SCRIPT" && "$OUT/initramfs.cpio.gz" -nt "$SCRIPT" ]]; then
    log "up to date: $OUT"
    exit 0
fi

need() { # need CMD PACKAGE
    command -v "$1" >/dev/null 2>&1 || die "'$1' not found: install Debian package '$2' (apt-get install $2)"
}
need apt-get apt
need apt-cache apt
need dpkg-deb dpkg
need python3 python3

WORK="$OUT/work"
DEBS="$WORK/debs"
ROOT="$WORK/root"      # union of the extracted packages
rm -rf "$ROOT"
mkdir -p "$DEBS" "$ROOT"

# --- resolve the kernel package -------------------------------------------
# linux-image-amd64 is the meta package; it depends on the versioned image
# package, e.g. linux-image-6.1.0-56-amd64.
# Package lists missing (fresh machine) or stale (a .deb gone from the mirror):
# refresh them once, as root, and try again.
UPDATED=0
apt_update_once() {
    ((UPDATED == 0)) && [[ "$(id -u)" == 0 ]] || return 1
    UPDATED=1
    log "apt-get update"
    apt-get update -q >/dev/null 2>&1 || return 1
}
resolve_kernel() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-6\.1[^ ]*-amd64\)$/\1/p' | head -n1
}
KPKG="$(resolve_kernel)"
if [[ -z "$KPKG" ]] && apt_update_once; then
    KPKG="$(resolve_kernel)"
fi
if [[ -z "$KPKG" ]]; then
    die "cannot resolve linux-image-6.1*-amd64 from linux-image-amd64 (run 'apt-get update' as root?)"
fi
log "kernel package: $KPKG"

PKGS=("$KPKG" busybox-static iperf3 libiperf0 libsctp1 libssl3 libc6 ethtool libmnl0)

download() { # download PKG...: fetch into $DEBS unless a .deb of it is already there
    local p missing=()
    for p in "$@"; do
        compgen -G "$DEBS/${p}_*.deb" >/dev/null || missing+=("$p")
    done
    if ((${#missing[@]})); then
        log "apt-get download ${missing[*]}"
        # apt-get download writes to the current directory.  As root, apt
        # warns that the download is unsandboxed; harmless.
        (cd "$DEBS" && apt-get download -q "${missing[@]}" 2>&1 | grep -v -e '^W: Download is performed unsandboxed' >&2) ||
            true
        for p in "${missing[@]}"; do
            compgen -G "$DEBS/${p}_*.deb" >/dev/null ||
                return 1
        done
    fi
}
if ! download "${PKGS[@]}"; then
    apt_update_once && download "${PKGS[@]}" ||
        die "apt-get download failed for one of: ${PKGS[*]} (run 'apt-get update' as root?)"
fi

for p in "${PKGS[@]}"; do
    deb="$(ls -t "$DEBS/${p}"_*.deb | head -n1)"
    dpkg-deb -x "$deb" "$ROOT"
done

KREL="${KPKG#linux-image-}"
VMLINUZ="$ROOT/boot/vmlinuz-$KREL"
[[ -f "$VMLINUZ" ]] || die "no $VMLINUZ in $KPKG"
MODDIR="$ROOT/lib/modules/$KREL"
[[ -d "$MODDIR" ]] || die "no $MODDIR in $KPKG"

# --- build the initramfs tree ------------------------------------------------
IRD="$WORK/initramfs"
rm -rf "$IRD"
mkdir -p "$IRD"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,lib/modules,proc,sys,dev,tmp,run,etc,root}

cp "$ROOT/bin/busybox" "$IRD/bin/busybox"
cp "$ROOT/usr/bin/iperf3" "$IRD/usr/bin/iperf3"
cp "$ROOT/usr/sbin/ethtool" "$IRD/usr/sbin/ethtool" 2>/dev/null ||
    cp "$ROOT/sbin/ethtool" "$IRD/usr/sbin/ethtool"

# Shared libraries: ask the downloaded dynamic loader which ones the binaries
# need, looking only inside the extracted packages.
LDSO="$(ls "$ROOT"/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 2>/dev/null || true)"
[[ -n "$LDSO" ]] || die "no ld-linux-x86-64.so.2 in libc6"
LIBPATH="$ROOT/lib/x86_64-linux-gnu:$ROOT/usr/lib/x86_64-linux-gnu"
mkdir -p "$IRD/lib/x86_64-linux-gnu"
for bin in "$IRD/usr/bin/iperf3" "$IRD/usr/sbin/ethtool"; do
    "$LDSO" --library-path "$LIBPATH" --list "$bin" >"$WORK/ldd.txt" ||
        die "ld.so --list $bin failed"
    if grep -q 'not found' "$WORK/ldd.txt"; then
        cat "$WORK/ldd.txt" >&2
        die "a library of $bin is not in the downloaded packages"
    fi
    # Lines: "libx.so.N => /path (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
    while read -r lib; do
        cp -L "$lib" "$IRD/lib/x86_64-linux-gnu/"
    done < <(sed -n 's/^.*=> \(\/[^ ]*\) (0x.*$/\1/p' "$WORK/ldd.txt")
done
cp -L "$LDSO" "$IRD/lib64/ld-linux-x86-64.so.2"
cp -L "$LDSO" "$IRD/lib/x86_64-linux-gnu/"

# virtio-net modules, in dependency order (the .deb has no modules.dep;
# the order was resolved with `modinfo -F depends`).
MODS=(virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio virtio_pci failover net_failover virtio_net)
: >"$IRD/lib/modules/order"
for m in "${MODS[@]}"; do
    f="$(find "$MODDIR" -name "$m.ko*" | head -n1)"
    [[ -n "$f" ]] || die "module $m not found under $MODDIR"
    echo "$f" >>"$WORK/modules.txt"
    echo "$m" >>"$IRD/lib/modules/order"
done

cat >"$IRD/init" <<'EOF'
#!/bin/busybox sh
# ringswitch e2e guest init (generated by scripts/build-guest.sh)
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
echo 0 >/proc/sys/kernel/printk_ratelimit 2>/dev/null
dmesg -n 1   # keep kernel messages off the console shell

rsip= rsmq= rsmtu= rsname=guest
for kv in $(cat /proc/cmdline); do
    case "$kv" in
    rsip=*) rsip=${kv#rsip=} ;;
    rsmq=*) rsmq=${kv#rsmq=} ;;
    rsmtu=*) rsmtu=${kv#rsmtu=} ;;
    rsname=*) rsname=${kv#rsname=} ;;
    esac
done
hostname "$rsname"

for m in $(cat /lib/modules/order); do
    insmod /lib/modules/$m.ko || echo "rs-init: insmod $m failed"
done

ip link set lo up
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
if [ -e /sys/class/net/eth0 ]; then
    echo "rs-init: eth0 driver=$(basename $(readlink /sys/class/net/eth0/device/driver))"
    [ -n "$rsmtu" ] && ip link set eth0 mtu "$rsmtu"
    if [ -n "$rsmq" ]; then
        ethtool -L eth0 combined "$rsmq" || echo "rs-init: ethtool -L eth0 combined $rsmq failed"
    fi
    if [ -n "$rsip" ]; then
        ip addr add "$rsip" dev eth0
        ip link set eth0 up
    fi
else
    echo "rs-init: no eth0"
fi
echo "rs-init: ready"

# A shell on the console, forever.  No echo, so that a driver reading the
# console sees only the output of its commands.
export PS1="$rsname# "
while true; do
    stty -echo 2>/dev/null
    setsid cttyhack sh
    sleep 0.1
done
EOF
chmod 755 "$IRD/init"
echo "root:x:0:0:root:/root:/bin/sh" >"$IRD/etc/passwd"
echo "root:x:0:" >"$IRD/etc/group"
echo "127.0.0.1 localhost" >"$IRD/etc/hosts"

# --- vmlinux, modules and the cpio archive (python3 stdlib) -----------------
log "extracting vmlinux, decompressing modules, writing the initramfs"
python3 - "$VMLINUZ" "$OUT/vmlinux.tmp" "$WORK/modules.txt" "$IRD" "$OUT/initramfs.cpio.gz.tmp" <<'PYEOF'
import gzip, lzma, os, stat, subprocess, sys, zlib

vmlinuz, vmlinux_out, modlist, ird, cpio_out = sys.argv[1:]

# extract-vmlinux: like the kernel's scripts/extract-vmlinux, look for each
# compression format's magic in the bzImage, try to decompress from there and
# keep the first result that is an ELF file.
def try_xz(buf):
    d = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    return d.decompress(buf)

def try_gzip(buf):
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    return d.decompress(buf)

def try_zstd(buf):
    try:
        p = subprocess.run(["zstd", "-d", "-c", "-q"], input=buf, capture_output=True)
    except FileNotFoundError:
        sys.exit("build-guest: error: vmlinuz is zstd-compressed: install Debian package 'zstd'")
    return p.stdout

FORMATS = [
    (b"\xfd7zXZ\x00", try_xz),
    (b"\x28\xb5\x2f\xfd", try_zstd),
    (b"\x1f\x8b\x08", try_gzip),
]

data = open(vmlinuz, "rb").read()
kernel = None
for magic, fn in FORMATS:
    pos = data.find(magic)
    while pos >= 0 and kernel is None:
        try:
            out = fn(data[pos:])
            if out[:4] == b"\x7fELF":
                kernel = out
        except Exception:
            pass
        pos = data.find(magic, pos + 1)
    if kernel is not None:
        break
if kernel is None:
    sys.exit("build-guest: error: no compressed ELF kernel found in " + vmlinuz)
with open(vmlinux_out, "wb") as f:
    f.write(kernel)

# Modules: .ko.xz / .ko.zst / .ko -> /lib/modules/NAME.ko
for path in open(modlist).read().split():
    name = os.path.basename(path).split(".ko")[0] + ".ko"
    raw = open(path, "rb").read()
    if path.endswith(".xz"):
        raw = lzma.decompress(raw)
    elif path.endswith(".zst"):
        raw = subprocess.run(["zstd", "-d", "-c", "-q"], input=raw, capture_output=True, check=True).stdout
    elif path.endswith(".gz"):
        raw = gzip.decompress(raw)
    with open(os.path.join(ird, "lib/modules", name), "wb") as f:
        f.write(raw)

# cpio "newc" archive of the tree, owned by root, gzip-compressed.
ino = [721]
def entry(name, st, body=b""):
    ino[0] += 1
    mode = st.st_mode
    hdr = "070701" + "".join("%08X" % v for v in (
        ino[0], mode, 0, 0, 1 if not stat.S_ISDIR(mode) else 2, int(st.st_mtime),
        len(body), 0, 0, 0, 0, len(name) + 1, 0))
    out = hdr.encode() + name.encode() + b"\0"
    out += b"\0" * (-len(out) % 4)
    out += body + b"\0" * (-len(body) % 4)
    return out

chunks = []
for dirpath, dirnames, filenames in os.walk(ird):
    dirnames.sort()
    rel = os.path.relpath(dirpath, ird)
    if rel != ".":
        chunks.append(entry(rel, os.lstat(dirpath)))
    for fn in sorted(filenames):
        p = os.path.join(dirpath, fn)
        st = os.lstat(p)
        name = os.path.normpath(os.path.join(rel, fn))
        if stat.S_ISLNK(st.st_mode):
            body = os.readlink(p).encode()
        else:
            body = open(p, "rb").read()
        chunks.append(entry(name, st, body))
class End:  # trailer
    st_mode = 0; st_mtime = 0
chunks.append(entry("TRAILER!!!", End))
with gzip.open(cpio_out, "wb", compresslevel=6) as f:
    for c in chunks:
        f.write(c)
PYEOF

echo "$KREL" >"$OUT/kernel-release"
mv "$OUT/vmlinux.tmp" "$OUT/vmlinux"
mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
rm -rf "$ROOT" # keep the .debs (cache), drop the big extracted tree
log "done: $OUT/vmlinux ($(du -h "$OUT/vmlinux" | cut -f1)), $OUT/initramfs.cpio.gz ($(du -h "$OUT/initramfs.cpio.gz" | cut -f1)), kernel $KREL"
