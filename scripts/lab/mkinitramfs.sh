#!/bin/sh
# The lab's initramfs: busybox-static, the guest init, and the modules that reach the host's / (9p
# over virtio, overlayfs, virtio-blk, ext4), each with its dependencies in the order modules.dep gives.
set -eu
LAB_DIR=$1 VERSION=$2 OUT=$3
here=$(cd "$(dirname "$0")" && pwd)
moddir=$LAB_DIR/kernel/lib/modules/$VERSION
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/modules" "$work/proc" "$work/sys" "$work/dev" "$work/host" "$work/rw" "$work/newroot" "$work/results"
cp /bin/busybox "$work/bin/busybox"
cp "$here/init" "$work/init"
chmod 0755 "$work/init"

# modules.dep lines are "path: dep1 dep2 …" with each dependency's own dependencies after it,
# so loading the dependencies right to left, then the module, follows the kernel's order.
order=""
add() {
    case " $order " in *" $1 "*) return ;; esac
    order="$order $1"
}
for name in virtio virtio_ring virtio_pci virtio_blk 9pnet 9pnet_virtio 9p overlay crc16 mbcache jbd2 ext4; do
    line=$(grep -E "(^|/)$name\.ko(\.xz)?:" "$moddir/modules.dep" || true)
    [ -n "$line" ] || continue # built into this kernel
    path=${line%%:*}
    deps=$(echo "${line#*:}" | tr ' ' '\n' | sed '/^$/d' | tac)
    for dep in $deps; do add "$dep"; done
    add "$path"
done
for path in $order; do
    base=$(basename "$path")
    cp "$moddir/$path" "$work/modules/$base"
    case "$base" in *.xz) xz -d "$work/modules/$base"; base=${base%.xz} ;; esac
    echo "$base" >> "$work/modules/order"
done
(cd "$work" && find . | cpio -o -H newc --quiet) | gzip -1 > "$OUT"
