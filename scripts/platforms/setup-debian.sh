#!/usr/bin/env bash
# Makes a Debian 12 x64 machine able to run `npm run test:platforms`: as root,
# from Debian's own archive only, each step idempotent.
#   - arm64 programs run under qemu-user through binfmt_misc, with Debian's
#     arm64 glibc and libstdc++ beside the host's (dpkg multiarch);
#   - musl 1.2.5 for x64 and arm64 from Debian 13 (trixie): the musl Node
#     builds on PyPI need musl 1.2.4 or later, and Debian 12 has 1.2.3. Only
#     that package is taken from trixie, through a private apt list that
#     leaves the machine's own sources alone;
#   - wine64 runs the Windows build of Node.
# Everything else (Node builds for each platform, the test-only wine shims)
# is fetched by package name into a cache by scripts/test-platforms.js.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "setup-debian.sh: run as root (it installs Debian packages and mounts binfmt_misc)" >&2
  exit 1
fi
if [ "$(dpkg --print-architecture)" != amd64 ]; then
  echo "setup-debian.sh: this machine is $(dpkg --print-architecture); the platform tests run on amd64" >&2
  exit 1
fi

cache="${PLS_PLATFORMS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pls-native-platforms}"
export DEBIAN_FRONTEND=noninteractive

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  qemu-user-static binfmt-support wine64 binutils \
  libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 >/dev/null

# binfmt_misc lets the kernel hand arm64 programs to qemu, so that an arm64
# node can start other arm64 programs (its own children) by their path.
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
  if ! mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; then
    echo "setup-debian.sh: cannot mount binfmt_misc, so arm64 programs cannot run here." >&2
    echo "  A container needs the host to mount it (or --privileged); the arm64 platform tests need it." >&2
    exit 1
  fi
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  update-binfmts --enable qemu-aarch64
fi
if ! grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64; then
  echo "setup-debian.sh: binfmt_misc has qemu-aarch64 registered but disabled" >&2
  exit 1
fi

# musl >= 1.2.4 from trixie, by package name through apt, with the mirror
# this machine already uses for Debian and the keyring Debian 12 ships.
musl_version() {
  # musl's dynamic loader prints its version when run with no program.
  { "/lib/ld-musl-$1.so.1" 2>&1 || true; } | sed -n 's/^Version \([0-9.]*\).*/\1/p'
}
needs_musl=0
for arch in x86_64 aarch64; do
  version="$(musl_version "$arch" 2>/dev/null || true)"
  if [ -z "$version" ] || ! dpkg --compare-versions "$version" ge 1.2.4; then needs_musl=1; fi
done
if [ "$needs_musl" = 1 ]; then
  mirror="$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk '$2 == "bookworm" { print $1; exit }')"
  keyring=/usr/share/keyrings/debian-archive-trixie-stable.gpg
  if [ -z "$mirror" ] || [ ! -e "$keyring" ]; then
    echo "setup-debian.sh: cannot find this machine's Debian mirror or the trixie archive key (debian-archive-keyring)" >&2
    exit 1
  fi
  apt_dir="$cache/apt-trixie"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
  echo "deb [signed-by=$keyring] $mirror trixie main" >"$apt_dir/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update -qq
  (cd "$apt_dir/debs" && rm -f musl_*.deb && apt-get "${apt_opts[@]}" download musl:amd64 musl:arm64)
  dpkg -i "$apt_dir"/debs/musl_*.deb >/dev/null
fi
for arch in x86_64 aarch64; do
  echo "musl for $arch: $(musl_version "$arch")"
done
echo "setup-debian.sh: qemu-aarch64 $(/usr/bin/qemu-aarch64-static --version | head -1 | awk '{print $3}'), $(/usr/lib/wine/wine64 --version)"
