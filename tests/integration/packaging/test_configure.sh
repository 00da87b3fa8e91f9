#!/bin/sh
# A build that fails loudly: a program whose library is missing stops the
# configure with the Debian package to install (here every pkg-config module is
# hidden: PKG_CONFIG_LIBDIR points nowhere); turning that option off moves the
# failure to the next program's library; the summary lists the options.
# usage: test_configure.sh SOURCE_DIR WORK_DIR
set -u
src=$1
work=$2
rm -rf "$work" && mkdir -p "$work"
fails=0
expect() {   # expect NAME WANT_EXIT PATTERN cmake-args...
    name=$1 want=$2 pat=$3
    shift 3
    if [ -n "${HIDE-}" ]; then hide="PKG_CONFIG_LIBDIR=$HIDE"; else hide="VIGIL_UNUSED=1"; fi
    env "$hide" cmake -S "$src" -B "$work/$name" -G Ninja -DCMAKE_C_COMPILER=gcc \
        -DBUILD_TESTING=OFF "$@" > "$work/$name.log" 2>&1
    rc=$?
    if [ "$want" = 0 ] && [ $rc -ne 0 ] || [ "$want" != 0 ] && [ $rc -eq 0 ]; then
        echo "FAIL $name: configure exit $rc"; sed -n '1,40p' "$work/$name.log"; fails=$((fails + 1))
    elif ! grep -q -- "$pat" "$work/$name.log"; then
        echo "FAIL $name: no '$pat' in its output"; tail -30 "$work/$name.log"; fails=$((fails + 1))
    else
        echo "ok $name: exit $rc, '$pat'"
    fi
}
HIDE=/nonexistent
expect systemd 1 "apt-get install libsystemd-dev"
grep -q -- "-DVIGIL_WITH_SYSTEMD=OFF" "$work/systemd.log" || { echo "FAIL systemd: the option is not named"; fails=$((fails + 1)); }
expect station 1 "apt-get install libsqlite3-dev" -DVIGIL_WITH_SYSTEMD=OFF
HIDE=
# a folder missing with its option ON (a copy of the tree without console/)
mkdir -p "$work/tree"
(cd "$src" && tar --exclude='./build*' --exclude='./.git' --exclude='./tests' \
    --exclude='./console' --exclude='./fuzz' -cf - .) | tar -C "$work/tree" -xf -
src_full=$src
src=$work/tree
expect no_console 1 "console/CMakeLists.txt is missing"
expect no_console_off 0 "VIGIL_WITH_CONSOLE = OFF" -DVIGIL_WITH_CONSOLE=OFF
grep -q "programs: vigil-station vigil-panel vigil$" "$work/no_console_off.log" ||
    { echo "FAIL no_console_off: summary: $(grep programs: "$work/no_console_off.log")"; fails=$((fails + 1)); }
src=$src_full
expect full 0 "programs: vigil-station vigil-console vigil-panel vigil"
[ $fails -eq 0 ] && echo ok
exit $fails
