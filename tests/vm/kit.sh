#!/bin/sh
# kit.sh KIT: prepares what tests/vm/run.sh boots: a Debian kernel with its KVM (AMD SVM), 9p and
# virtio modules, and a busybox initramfs whose init mounts the host's root over 9p, chroots into
# it and runs one command. Everything comes from Debian packages: qemu-system-x86 and
# busybox-static are installed with apt-get (as root) when missing; the kernel package is only
# downloaded (apt-get download) and unpacked into KIT, never installed.
set -eu
KIT=${1:?usage: kit.sh KIT}
mkdir -p "$KIT"
KIT=$(cd "$KIT" && pwd)
KIT_VERSION=4 # bump when the initramfs changes
[ -f "$KIT/initrd.gz" ] && [ -f "$KIT/vmlinuz" ] &&
    [ "$(cat "$KIT/version" 2>/dev/null)" = "$KIT_VERSION" ] && exit 0

need_pkg() { # command package
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "kit.sh: $1 is missing: run 'apt-get install $2' as root" >&2
        exit 2
    fi
    echo "kit.sh: installing $2"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "$2" >/dev/null 2>&1 ||
        { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends "$2" >/dev/null; }
}
need_pkg qemu-system-x86_64 qemu-system-x86
# The initramfs has no libraries: its busybox must be the static one (Debian's plain busybox
# package is dynamically linked).
if ! { [ -x /bin/busybox ] && LC_ALL=C ldd /bin/busybox 2>&1 | grep -q 'not a dynamic'; }; then
    [ "$(id -u)" -eq 0 ] || { echo "kit.sh: run 'apt-get install busybox-static' as root" >&2; exit 2; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends busybox-static >/dev/null 2>&1 ||
        { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends busybox-static >/dev/null; }
fi

# The kernel: the package linux-image-amd64 points at (apt verifies what it downloads).
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
if [ -z "$pkg" ]; then
    apt-get update >/dev/null 2>&1 || true
    pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
fi
[ -n "$pkg" ] || { echo "kit.sh: no linux-image-amd64 in the apt lists" >&2; exit 2; }
rm -rf "$KIT/deb" "$KIT/root" && mkdir -p "$KIT/deb" "$KIT/root"
(cd "$KIT/deb" && apt-get download "$pkg" >/dev/null 2>&1) ||
    { echo "kit.sh: apt-get download $pkg failed" >&2; exit 2; }
dpkg-deb -x "$KIT"/deb/*.deb "$KIT/deb/x"
cp "$KIT"/deb/x/boot/vmlinuz-* "$KIT/vmlinuz"
mods=$(echo "$KIT"/deb/x/lib/modules/*/kernel)

# Load order follows each module's depends= line.
order="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
       drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci fs/netfs/netfs
       fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p virt/lib/irqbypass
       drivers/crypto/ccp/ccp arch/x86/kvm/kvm arch/x86/kvm/kvm-amd"
mkdir -p "$KIT/root/bin" "$KIT/root/mod" "$KIT/root/proc" "$KIT/root/sys" "$KIT/root/dev" \
         "$KIT/root/mnt"
for m in $order; do
    f=$(ls "$mods/$m.ko"* 2>/dev/null | head -n 1)
    [ -n "$f" ] || { echo "kit.sh: $pkg has no $m module" >&2; exit 2; }
    case "$f" in
    *.xz) xz -dc "$f" > "$KIT/root/mod/$(basename "$m").ko" ;;
    *.zst) zstd -dqc "$f" > "$KIT/root/mod/$(basename "$m").ko" ;;
    *) cp "$f" "$KIT/root/mod/$(basename "$m").ko" ;;
    esac
    echo "$(basename "$m")" >> "$KIT/root/mod/order"
done
cp /bin/busybox "$KIT/root/bin/busybox"
cat > "$KIT/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /mod/order); do insmod /mod/$m.ko 2>/dev/null || echo "vm: insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 hostroot /mnt || echo "vm: no 9p root"
mount -t proc proc /mnt/proc; mount -t sysfs sys /mnt/sys; mount -o bind /dev /mnt/dev
mkdir -p /mnt/dev/shm && mount -t tmpfs shm /mnt/dev/shm # /tmp stays the host's (9p)
ip link set lo up # the gdb stub tests talk over 127.0.0.1
script=$(sed -n 's/.*hlscript=\([^ ]*\).*/\1/p' /proc/cmdline)
chroot /mnt /bin/sh "$script"
echo "VMEXIT=$?"
poweroff -f
INIT
chmod +x "$KIT/root/init"
(cd "$KIT/root" && find . | /bin/busybox cpio -o -H newc 2>/dev/null) | gzip -1 > "$KIT/initrd.gz"
rm -rf "$KIT/deb"
echo "$KIT_VERSION" > "$KIT/version"
echo "kit.sh: VM kit ready in $KIT ($pkg)"
