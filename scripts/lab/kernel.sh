#!/bin/sh
# Fetches Debian's own kernel for the lab and unpacks it under $LAB_DIR/kernel, never installing it
# on the host: `apt-get download` of the image linux-image-amd64 depends on, `dpkg-deb -x`, then
# `depmod -b` so modprobe in the guest finds every module. Prints the kernel version.
set -eu
LAB_DIR=${1:?usage: kernel.sh LAB_DIR}
mkdir -p "$LAB_DIR/cache"
image=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1)
if [ -z "$image" ]; then
    apt-get update -qq >&2
    image=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1)
fi
[ -n "$image" ] || { echo "kernel.sh: apt-cache names no image for linux-image-amd64; run apt-get update" >&2; exit 1; }
version=${image#linux-image-}
if [ ! -f "$LAB_DIR/kernel/.unpacked-$version" ]; then
    deb=$(ls "$LAB_DIR/cache/${image}_"*.deb 2>/dev/null | head -n1 || true)
    if [ -z "$deb" ]; then
        # apt's sandbox user cannot write into a root-owned build tree: download as root there.
        (cd "$LAB_DIR/cache" && apt-get download -o APT::Sandbox::User=root "$image" >&2)
        deb=$(ls "$LAB_DIR/cache/${image}_"*.deb | head -n1)
    fi
    rm -rf "$LAB_DIR/kernel"
    mkdir -p "$LAB_DIR/kernel"
    dpkg-deb -x "$deb" "$LAB_DIR/kernel"
    depmod -b "$LAB_DIR/kernel" "$version"
    touch "$LAB_DIR/kernel/.unpacked-$version"
fi
echo "$version"
