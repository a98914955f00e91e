#!/usr/bin/env bash
# A block device in memory for the file benchmarks: tmpfs -> loop device -> ext4, mounted on DIR.
#
#   sudo scripts/memory-disk.sh up [DIR]     (default DIR: /mnt/iocph-memdisk)
#   ./build.sh bench --output-dir DIR/bench --filter "O_DIRECT"
#   sudo scripts/memory-disk.sh down [DIR]
#
# Why: on a shared VM the virtual disk's speed drifts by 3x within minutes (docs/benchmarks.md), so
# a 10% change in the library's unbuffered read path drowns in it. O_DIRECT reads on this device
# still take the whole path a disk read takes (io_uring, the block layer, a completion that arrives
# later on another thread: the loop driver serves them from a kernel worker), but the device answers
# in microseconds, so the contenders are CPU-bound and their CPU per read is what is compared. It is
# a tool for A/B runs of the library's own path, not a stand-in for a disk: burst effects of a slow
# device (docs/benchmarks.md, "Where it still loses") do not show here.
#
# The loop driver's worker is an unbound kworker; the unbound workqueues are kept off CPU 1 (where
# the harness pins the file contenders) while the device is up, so the device never takes the
# contender's core. `down` restores the mask.
set -euo pipefail

action=${1:-}
dir=${2:-/mnt/iocph-memdisk}
backing=$dir.tmpfs
mask_file=/sys/devices/virtual/workqueue/cpumask
saved_mask=$backing.cpumask

if [[ $EUID -ne 0 ]]; then
    echo "memory-disk.sh: needs root (mount, losetup, mkfs)" >&2
    exit 1
fi

case $action in
up)
    if mountpoint -q "$dir"; then
        echo "memory-disk.sh: $dir is already mounted" >&2
        exit 1
    fi
    mkdir -p "$backing" "$dir"
    mount -t tmpfs -o size=1400m tmpfs "$backing"
    truncate -s 1300M "$backing/disk.img"
    device=$(losetup --find --show "$backing/disk.img")
    mkfs.ext4 -q -F "$device"
    mount "$device" "$dir"
    mkdir -p "$dir/bench"
    if [[ -w $mask_file ]]; then
        cat "$mask_file" > "$saved_mask"
        echo 1 > "$mask_file" # CPU 0 only
    fi
    echo "memory disk $device on $dir; run: ./build.sh bench --output-dir $dir/bench ..."
    ;;
down)
    device=$(findmnt -n -o SOURCE "$dir" || true)
    if [[ -n $device ]]; then
        umount "$dir"
        losetup -d "$device"
    fi
    if [[ -f $saved_mask ]]; then
        cat "$saved_mask" > "$mask_file"
        rm -f "$saved_mask"
    fi
    if mountpoint -q "$backing"; then
        umount "$backing"
    fi
    rmdir "$dir" "$backing" 2>/dev/null || true
    ;;
*)
    echo "usage: memory-disk.sh up|down [DIR]" >&2
    exit 2
    ;;
esac
