#!/bin/sh
# newlib.sh DIR CC CFLAGS: builds the guest C library (newlib's libc and libm) from Debian's newlib-source
# package into DIR (DIR/include, DIR/lib) and writes DIR/.built when done. It runs once; make
# reuses DIR afterwards. newlib is a dependency: its source is unpacked under DIR, never committed.
#
# The version is pinned: Debian 12 ships newlib-source 3.3.0 from the system's own archive, and
# that is what the runtime's system layer (guest/sys_*.c) is written and tested against. Another
# version stops the build with a message instead of building something nobody tested.
set -eu
dir=$1
cc=$2
codegen=$3
version=3.3.0
tarball=/usr/src/newlib/newlib-$version.tar.xz

have_source() {
    [ -r "$tarball" ]
}

install_source() {
    if [ "$(id -u)" != 0 ]; then
        echo "newlib.sh: $tarball is missing; install it with: sudo apt-get install newlib-source" >&2
        exit 1
    fi
    echo "newlib.sh: installing Debian's newlib-source package" >&2
    apt-get install -y newlib-source >&2 || { apt-get update >&2 && apt-get install -y newlib-source >&2; }
}

have_source || install_source
if ! have_source; then
    installed=$(dpkg-query -W -f '${Version}' newlib-source 2>/dev/null || echo none)
    echo "newlib.sh: need newlib $version ($tarball); newlib-source here is $installed" >&2
    exit 1
fi

rm -rf "$dir" && mkdir -p "$dir/obj"
tar -xJf "$tarball" -C "$dir"
src=$(cd "$dir" && find . -maxdepth 2 -name newlib -type d | head -n 1)
src=$(cd "$dir/$src/.." && pwd)
gcc_include=$($cc -print-file-name=include)

# The guest's code generation (CFLAGS: position-independent, no red zone, no stack protector),
# one section per function so that a guest links only what it uses. One thread: no locks.
cflags="$codegen -ffunction-sections -fdata-sections"
(
    cd "$dir/obj"
    "$src/configure" --target=x86_64-elf --prefix="$dir/install" --disable-multilib \
        --disable-newlib-supplied-syscalls --disable-newlib-multithread \
        --enable-newlib-io-long-long --enable-newlib-io-c99-formats --disable-nls \
        CC_FOR_TARGET="$cc -nostdinc -isystem $gcc_include" AR_FOR_TARGET=ar AS_FOR_TARGET=as \
        LD_FOR_TARGET=ld NM_FOR_TARGET=nm RANLIB_FOR_TARGET=ranlib OBJDUMP_FOR_TARGET=objdump \
        READELF_FOR_TARGET=readelf STRIP_FOR_TARGET=strip CFLAGS_FOR_TARGET="$cflags"
    make -j"$(nproc)" all-target-newlib
    make install-target-newlib
) > "$dir/build.log" 2>&1 || { echo "newlib.sh: the build failed; see $dir/build.log" >&2; tail -n 20 "$dir/build.log" >&2; exit 1; }

mv "$dir/install/x86_64-elf/include" "$dir/include"
mkdir -p "$dir/lib"
mv "$dir/install/x86_64-elf/lib/libc.a" "$dir/install/x86_64-elf/lib/libm.a" "$dir/lib/"
rm -rf "$dir/obj" "$dir/install" "$src"
echo "$version" > "$dir/.built"
