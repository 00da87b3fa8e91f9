#!/bin/sh
# `make install`'s half that CMake does: cmake --install of this build with
# DESTDIR puts each program, the web files, agencies, example configuration
# (with the prefix's folders) and the units (ExecStart= in the prefix) there.
# usage: test_install.sh BUILD_DIR DESTDIR
set -u
build=$1
dest=$2
rm -rf "$dest"
DESTDIR=$dest cmake --install "$build" > "$dest.log" 2>&1 || { cat "$dest.log"; exit 1; }
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
r=$dest$prefix
fails=0
for f in sbin/vigil-station sbin/vigil-console bin/vigil bin/vigil-panel; do
    [ -x "$r/$f" ] || { echo "FAIL: $prefix/$f missing or not executable"; fails=$((fails + 1)); }
done
for f in share/vigil/web/index.html share/vigil/agencies/toronto-ps.json \
         lib/systemd/system/vigil-station.service lib/systemd/system/vigil-console.service; do
    [ -f "$r/$f" ] || { echo "FAIL: $prefix/$f missing"; fails=$((fails + 1)); }
done
case $prefix in /usr) etc=$dest/etc var=/var ;; *) etc=$r/etc var=$prefix/var ;; esac
conf=$etc/vigil/vigil-station.conf
grep -q "^web_root $prefix/share/vigil/web$" "$conf" ||
    { echo "FAIL: $conf: web_root not under $prefix"; fails=$((fails + 1)); }
grep -q "^store sqlite:$var/lib/vigil/station.db$" "$conf" ||
    { echo "FAIL: $conf: store not under $var/lib/vigil"; fails=$((fails + 1)); }
grep -q "^ExecStart=$prefix/sbin/vigil-station -c ${etc#$dest}/vigil/vigil-station.conf$" \
    "$r/lib/systemd/system/vigil-station.service" ||
    { echo "FAIL: vigil-station.service: ExecStart not in $prefix"; fails=$((fails + 1)); }
[ -f "$etc/vigil/vigil-panel.conf" ] || { echo "FAIL: vigil-panel.conf missing"; fails=$((fails + 1)); }
[ $fails -eq 0 ] && echo "ok: $(find "$dest" -type f | wc -l) files under DESTDIR, prefix $prefix"
exit $fails
