#!/usr/bin/env bash
# tests/e2e/install.sh — `make install` and `make uninstall` with DESTDIR and PREFIX (issue 6):
#
#   the installed tree is exactly the expected one (Debian's places: sendmail, mxd, mxctl in
#   sbin; mailq and newaliases as links to sendmail in bin; the unit in lib/systemd/system;
#   the sample config in share/doc/mxd and as etc/mxd/mxd.conf; the man pages), nothing is
#   setuid or setgid, the programs run from there (mailq finds mxctl beside sendmail), the
#   installed config passes `mxd -t`; the unit passes `systemd-analyze verify` (checked on a
#   copy whose ExecStart points into DESTDIR, with MANPATH on the installed man pages so its
#   Documentation= is checked too); PREFIX=/usr/local moves ExecStart; an edited mxd.conf is
#   neither overwritten by install nor removed by uninstall; uninstall leaves no file behind.
#
# Uses the build in $BUILD (make is told SAN=1 when BUILD is a sanitizer build, so nothing is
# rebuilt with other flags). TAP. Run: BUILD=build/san bash tests/e2e/install.sh
set -u

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init

SAN=0
case $BUILD in */san | */san/) SAN=1 ;; esac
DEST=$TMP/dest
mk() {	# mk TARGET DESTDIR PREFIX: make TARGET, output in $TMP/make.out
	make -C "$ROOT" --no-print-directory "$1" DESTDIR="$2" PREFIX="$3" BUILD="$BUILD" \
	    SAN="$SAN" >"$TMP/make.out" 2>&1
}
tree() {	# tree DIR: every file and link under DIR, relative, sorted
	(cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort)
}

# The expected tree, from the sources: every program, every man page.
{
	echo etc/mxd/mxd.conf
	echo usr/bin/mailq
	echo usr/bin/mxlookup
	echo usr/bin/newaliases
	[ -n "$(ls src/mxaudit/*.c 2>/dev/null)" ] && echo usr/bin/mxaudit
	echo usr/lib/systemd/system/mxd.service
	echo usr/sbin/mxctl
	echo usr/sbin/mxd
	echo usr/sbin/sendmail
	echo usr/share/doc/mxd/mxd.conf.sample
	for m in docs/man/*.[1-8]; do echo "usr/share/man/man${m##*.}/${m##*/}"; done
} | LC_ALL=C sort >"$TMP/expected"

mk install "$DEST" /usr
ok $? "make install DESTDIR=... PREFIX=/usr" || tail -20 "$TMP/make.out" | sed 's/^/#   /'
tree "$DEST" >"$TMP/got"
if cmp -s "$TMP/got" "$TMP/expected"; then
	pass "the installed tree is the expected one ($(wc -l <"$TMP/got") files)"
else
	fail "the installed tree is the expected one"
	diff "$TMP/expected" "$TMP/got" | sed 's/^/#   /'
fi
sed 's/^/#   /' "$TMP/got"
is "$(readlink "$DEST/usr/bin/mailq") $(readlink "$DEST/usr/bin/newaliases")" \
    "../sbin/sendmail ../sbin/sendmail" "mailq and newaliases are relative links to sendmail"
is "$(find "$DEST" -perm /6000 | grep -c .)" 0 "nothing is setuid or setgid"
bad=
for f in usr/sbin/mxd usr/sbin/mxctl usr/sbin/sendmail usr/bin/mxlookup; do
	[ "$(stat -c %a "$DEST/$f")" = 755 ] || bad="$bad $f"
done
for f in usr/lib/systemd/system/mxd.service usr/share/doc/mxd/mxd.conf.sample etc/mxd/mxd.conf; do
	[ "$(stat -c %a "$DEST/$f")" = 644 ] || bad="$bad $f"
done
is "$bad" "" "programs 0755, unit and configs 0644"
grep -qx 'ExecStart=/usr/sbin/mxd -c /etc/mxd/mxd.conf' "$DEST/usr/lib/systemd/system/mxd.service"
ok $? "ExecStart=/usr/sbin/mxd -c /etc/mxd/mxd.conf"
cmp -s etc/mxd.conf.sample "$DEST/etc/mxd/mxd.conf"
ok $? "etc/mxd/mxd.conf is the sample"
"$DEST/usr/sbin/mxd" -t -c "$DEST/etc/mxd/mxd.conf" >"$TMP/t.out" 2>&1
ok $? "the installed config passes mxd -t" || sed 's/^/#   /' "$TMP/t.out"
# The sample keeps up with mxd.conf(5): every key there, and every example value valid.
missing=
for k in $(sed -n 's/^\.It Ic \([a-z_0-9]*\).*/\1/p' docs/man/mxd.conf.5); do
	grep -q "^#$k = " etc/mxd.conf.sample || missing="$missing $k"
done
is "$missing" "" "the sample has a commented line for every key of mxd.conf(5)"
sed 's/^#\([a-z_0-9]* = \)/\1/' etc/mxd.conf.sample >"$TMP/all.conf"
"$DEST/usr/sbin/mxd" -t -c "$TMP/all.conf" >"$TMP/t.out" 2>&1
ok $? "the sample with every example uncommented passes mxd -t" || sed 's/^/#   /' "$TMP/t.out"

# The installed mailq runs the installed mxctl: no mxd here, so 69 and "not running".
printf 'spool = %s/spool\nresolver = 127.0.0.1:1\n' "$TMP" >"$TMP/mq.conf"
"$DEST/usr/bin/mailq" -C "$TMP/mq.conf" >"$TMP/mq.out" 2>&1
rc=$?
[ "$rc" = 69 ] && grep -q '^mxctl: mxd is not running' "$TMP/mq.out"
ok $? "the installed mailq runs the installed mxctl (69: mxd not running)" ||
    { echo "#   exit $rc"; sed 's/^/#   /' "$TMP/mq.out"; }

# systemd-analyze verify on the installed unit, ExecStart pointed at the DESTDIR binary.
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$TMP/verify"
	sed "s|/usr/sbin/mxd|$DEST/usr/sbin/mxd|g" "$DEST/usr/lib/systemd/system/mxd.service" \
	    >"$TMP/verify/mxd.service"
	man=(--man=yes)
	command -v man >/dev/null || man=(--man=no)
	MANPATH=$DEST/usr/share/man systemd-analyze verify "${man[@]}" "$TMP/verify/mxd.service" \
	    >"$TMP/verify.out" 2>&1
	rc=$?
	[ "$rc" = 0 ] && [ ! -s "$TMP/verify.out" ]
	ok $? "systemd-analyze verify ${man[*]} passes, silently" ||
	    { echo "#   exit $rc"; sed 's/^/#   /' "$TMP/verify.out"; }
	# The unit's exposure as systemd rates it: information, not a gate.
	systemd-analyze security --offline=yes "$TMP/verify/mxd.service" 2>/dev/null |
	    grep -i 'overall exposure' | sed 's/^/# systemd-analyze security: /'
else
	fail "systemd-analyze is installed (Debian package systemd)"
fi

# An edited config survives install and uninstall; PREFIX moves ExecStart.
D2=$TMP/dest2
mk install "$D2" /usr/local
ok $? "make install PREFIX=/usr/local" || tail -20 "$TMP/make.out" | sed 's/^/#   /'
grep -qx 'ExecStart=/usr/local/sbin/mxd -c /etc/mxd/mxd.conf' \
    "$D2/usr/local/lib/systemd/system/mxd.service" &&
    grep -qx 'ExecStartPre=/usr/local/sbin/mxd -t -c /etc/mxd/mxd.conf' \
    "$D2/usr/local/lib/systemd/system/mxd.service"
ok $? "PREFIX=/usr/local: ExecStart and ExecStartPre follow it"
echo 'hostname = edited.example' >>"$D2/etc/mxd/mxd.conf"
mk install "$D2" /usr/local
grep -q '^hostname = edited.example$' "$D2/etc/mxd/mxd.conf"
ok $? "install again: the edited mxd.conf is kept"
mk uninstall "$D2" /usr/local
ok $? "make uninstall PREFIX=/usr/local"
is "$(tree "$D2")" "etc/mxd/mxd.conf" "uninstall removes everything but the edited mxd.conf"

mk uninstall "$DEST" /usr
ok $? "make uninstall DESTDIR=... PREFIX=/usr" || tail -20 "$TMP/make.out" | sed 's/^/#   /'
left=$(tree "$DEST")
is "$left" "" "uninstall leaves no file behind" || printf "%s\n" "$left" | sed "s/^/#   left: /"
done_testing
