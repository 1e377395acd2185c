#!/bin/sh
# run.sh KIT SECONDS SCRIPT: boots the kit (kit.sh) in QEMU with software emulation of an AMD CPU
# with SVM, so the kernel inside has a real /dev/kvm, and runs SCRIPT there (a shell script path,
# seen at the same path inside: the host's root is the VM's root). Prints the VM's console and
# exits with SCRIPT's status, or 124 when the VM did not finish within SECONDS.
# One vCPU and shadow paging (-npt): with two emulated vCPUs or nested paging, QEMU 7.2's TCG
# sometimes stalls a vCPU inside the nested guest.
set -eu
KIT=${1:?usage: run.sh KIT SECONDS SCRIPT}
SECONDS_MAX=${2:?}
SCRIPT=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
log=$(mktemp)
rc=0
timeout "$SECONDS_MAX" qemu-system-x86_64 -machine q35,accel=tcg -cpu EPYC,+svm,-npt -smp 1 \
    -m 4096 -nographic -no-reboot -kernel "$KIT/vmlinuz" -initrd "$KIT/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 hlscript=$SCRIPT" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,id=hostroot \
    2>/dev/null | tee "$log" || rc=$?
status=$(tr -d '\r' < "$log" | sed -n 's/^VMEXIT=\([0-9]*\)$/\1/p' | tail -n 1)
rm -f "$log"
if [ -z "$status" ]; then
    echo "vm: the VM did not finish (qemu exit $rc)" >&2
    exit 124
fi
exit "$status"
