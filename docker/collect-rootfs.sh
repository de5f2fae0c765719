#!/bin/sh
# Gathers what a from-scratch image needs to run some programs: each program at the path it
# should have in the image, the shared libraries it loads (as the build stage's dynamic
# loader resolves them, so the versions are exactly the ones it was linked against), and an
# empty /tmp. Used by docker/Dockerfile's build stages.
#   collect-rootfs.sh ROOT SOURCE:TARGET...
set -eu
root=$1
shift
mkdir -p "$root/tmp"
chmod 1777 "$root/tmp"
for pair in "$@"; do
  source=${pair%%:*}
  target=${pair#*:}
  mkdir -p "$root$(dirname "$target")"
  cp "$source" "$root$target"
  strip --strip-unneeded "$root$target"
  # ldd prints "name => /path (address)" for libraries and "/path (address)" for the loader.
  for lib in $(ldd "$source" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    if [ ! -e "$root$lib" ]; then
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    fi
  done
done
