# Sourced by the emulation scripts: an arm64 Debian Bookworm userland as unpacked .deb files.
# arm64_root ROOT PACKAGE...: Debian's arm64 packages and everything they depend on, downloaded with
# apt-get download and unpacked with dpkg -x into ROOT (kept: a second call does nothing); the host
# needs qemu-user-static and the arm64 package lists, which this adds when missing (as root).
independent() { apt-cache show --no-all-versions "$1" 2>/dev/null | grep -x 'Architecture: all' >/dev/null; }  # not -q: under pipefail an early exit fails the pipe

arm64_root() {
  local root="$1"; shift
  command -v qemu-aarch64-static >/dev/null || apt-get install -y qemu-user-static
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update
  fi
  [ -x "$root/usr/bin/python3.11" ] && return 0
  local debs="$root.debs" wanted=() names packages name
  mkdir -p "$debs" "$root"
  for name in "$@"; do  # architecture-independent packages have no :arm64 name
    if independent "$name"; then wanted+=("$name"); else wanted+=("$name:arm64"); fi
  done
  names=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
      --no-replaces --no-enhances "${wanted[@]}" | grep -v '^ ' | grep -v '^<' | sort -u)
  packages=$(grep ':arm64$' <<< "$names")
  for name in $(grep -v ':' <<< "$names"); do
    independent "$name" && packages+=" $name"
  done
  (cd "$debs" && apt-get download $packages media-types readline-common)
  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$root"; done
  # the links that update-alternatives would make when the packages are installed (BLAS and LAPACK)
  local lib="$root/usr/lib/aarch64-linux-gnu"
  for alternative in blas/libblas.so.3 lapack/liblapack.so.3; do
    [ -e "$lib/$alternative" ] && ln -sf "$alternative" "$lib/$(basename "$alternative")"
  done
  return 0
}
