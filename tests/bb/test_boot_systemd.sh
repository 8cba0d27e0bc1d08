#!/usr/bin/env bash
# The systemd unit: the shipped one and the ones `wsctl startup` writes pass
# `systemd-analyze verify`; startup names a real user (never "undefined"),
# even with $USER unset; unstartup removes what startup wrote.
. "$(dirname "$0")/lib.sh"

note "systemd does not run here: units are only verified and written under --root; nothing is enabled"
SHIPPED=$TOP/init/wsd.service

# verify UNIT: systemd-analyze verify passes and says nothing about it.
# --man=no: the man pages are not installed here (test_boot_install
# verifies the installed unit with its man pages).
verify() {
	local out rc name
	name=$(basename "$1")
	out=$(systemd-analyze verify --man=no "$1" 2>&1)
	rc=$?
	[ -z "${VERIFY_ALLOW:-}" ] || out=$(printf '%s\n' "$out" | grep -vF "$VERIFY_ALLOW")
	if [ $rc -ne 0 ] || printf '%s\n' "$out" | grep -q "$name"; then
		printf '%s\n' "$out" | sed 's/^/  # /'
		return 1
	fi
	return 0
}

has() { grep -qxF -- "$2" "$1"; }

if ! command -v systemd-analyze >/dev/null; then
	not_ok "systemd-analyze is installed"
	finish
fi

# The shipped unit names /usr/local/bin, which may not exist here: verify a
# copy pointing at the built programs (systemd checks ExecStart= exists).
mkdir -p "$T/shipped"
sed "s|/usr/local/bin|$BIN|g" "$SHIPPED" > "$T/shipped/wsd.service"
check "shipped unit (paths rewritten to $BIN) passes systemd-analyze verify" \
	verify "$T/shipped/wsd.service"

missing=()
for l in "Type=notify" "ExecStart=/usr/local/bin/wsd --foreground --resurrect" \
	"ExecReload=/usr/local/bin/wsctl reload all" "Restart=on-failure" \
	"LimitNOFILE=1048576" "Environment=WSD_HOME=/var/lib/wsd" \
	"StateDirectory=wsd" "NoNewPrivileges=yes" "PrivateTmp=yes" \
	"ProtectSystem=full" "UMask=0077" "KillMode=mixed" "User=root" \
	"WantedBy=multi-user.target"; do
	has "$SHIPPED" "$l" || missing+=("$l")
done
if [ ${#missing[@]} -eq 0 ]; then ok "shipped unit has the required settings"
else not_ok "shipped unit has the required settings" "missing: ${missing[*]}"; fi

# The shipped files are the startup templates for root, /var/lib/wsd and
# /usr/local/bin: one template, two uses.
mkdir -p "$T/tpl"
wsctl startup systemd --root "$T/tpl" --user root --bindir /usr/local/bin > "$T/tpl.out" 2>&1
if cmp -s "$T/tpl/etc/systemd/system/wsd.service" "$SHIPPED"; then
	ok "init/wsd.service is exactly what startup writes for root"
else
	not_ok "init/wsd.service is exactly what startup writes for root" \
	    "$(diff "$SHIPPED" "$T/tpl/etc/systemd/system/wsd.service" 2>&1 | head -20)"
fi
wsctl startup sysv --root "$T/tpl" --user root --bindir /usr/local/bin >> "$T/tpl.out" 2>&1
if cmp -s "$T/tpl/etc/init.d/wsd" "$TOP/init/wsd.init"; then
	ok "init/wsd.init is exactly what startup writes for root"
else
	not_ok "init/wsd.init is exactly what startup writes for root" \
	    "$(diff "$TOP/init/wsd.init" "$T/tpl/etc/init.d/wsd" 2>&1 | head -20)"
fi

# --user nobody under a root folder.
R=$T/root
mkdir -p "$R"
out=$(wsctl startup systemd --root "$R" --user nobody 2>&1)
rc=$?
U=$R/etc/systemd/system/wsd-nobody.service
if [ $rc -eq 0 ] && [ -f "$U" ]; then ok "startup --user nobody writes $U"
else not_ok "startup --user nobody writes wsd-nobody.service" "status $rc" "$out"; fi
check "generated unit runs as User=nobody" has "$U" "User=nobody"
check "generated unit runs the built wsd" has "$U" "ExecStart=$BIN/wsd --foreground --resurrect"
check "generated unit reloads with the built wsctl" has "$U" "ExecReload=$BIN/wsctl reload all"
# nobody's home (/nonexistent) does not exist: a state folder instead.
check "generated unit: home without a home folder is /var/lib/wsd-nobody" \
	has "$U" "Environment=WSD_HOME=/var/lib/wsd-nobody"
check "generated unit: systemd creates that home" has "$U" "StateDirectory=wsd-nobody"
check "generated unit: PATH holds the programs' folder" grep -q "^Environment=PATH=$BIN:" "$U"
# systemd rightly warns that running as nobody is unsafe; that warning
# aside, the unit must verify clean.
VERIFY_ALLOW="Special user nobody configured"
check "generated unit passes systemd-analyze verify (nobody warning aside)" verify "$U"
VERIFY_ALLOW=
check "generated unit file is world-readable (0644)" \
	test "$(stat -c %a "$U")" = 644
check "startup under --root prints the enable command instead of running it" \
	grep -qF "systemctl --root=$R enable wsd-nobody" <<<"$out"
if ls "$R/etc/systemd/system/"*.new >/dev/null 2>&1; then
	not_ok "no temporary file left behind"
else ok "no temporary file left behind"; fi

# A user of the image's own passwd (--root), with a home folder there.
mkdir -p "$R/etc" "$R/home/deploy"
echo "deploy:x:1234:1234:Deploy:/home/deploy:/bin/sh" > "$R/etc/passwd"
out=$(wsctl startup systemd --root "$R" --user deploy 2>&1)
rc=$?
UD=$R/etc/systemd/system/wsd-deploy.service
if [ $rc -eq 0 ] && has "$UD" "User=deploy" && has "$UD" "Environment=WSD_HOME=/home/deploy/.wsd"; then
	ok "a user of ROOT/etc/passwd gets wsd-deploy with home ~deploy/.wsd"
else
	not_ok "a user of ROOT/etc/passwd gets wsd-deploy with home ~deploy/.wsd" "status $rc" "$out"
fi
check "unit for a regular user passes systemd-analyze verify with no warning" verify "$UD"
wsctl unstartup systemd --root "$R" --user deploy >/dev/null 2>&1
check "unstartup --user deploy removes it" test ! -e "$UD"

# --home for a user with a home.
wsctl startup systemd --root "$R" --user nobody --home /srv/ws-home >/dev/null 2>&1
check "--home sets WSD_HOME" has "$U" "Environment=WSD_HOME=/srv/ws-home"
if grep -q "^StateDirectory" "$U"; then
	not_ok "--home outside /var/lib: no StateDirectory="
else ok "--home outside /var/lib: no StateDirectory="; fi

# $USER, LOGNAME and HOME unset: the user still comes from the uid.
me=$(id -un)
R2=$T/root2
mkdir -p "$R2"
env -u USER -u LOGNAME -u HOME wsctl startup systemd --root "$R2" > "$T/nouser.out" 2>&1
rc=$?
if [ "$(id -u)" = 0 ]; then U2=$R2/etc/systemd/system/wsd.service
else U2=$R2/etc/systemd/system/wsd-$me.service; fi
u=$(sed -n 's/^User=//p' "$U2" 2>/dev/null)
if [ $rc -eq 0 ] && [ "$u" = "$me" ] && getent passwd "$u" >/dev/null; then
	ok "with USER unset, the unit names the real user ($u)"
else
	not_ok "with USER unset, the unit names the real user" "status $rc, User=$u" "$(cat "$T/nouser.out")"
fi
if grep -qiE '^User=(undefined|)$' "$U2" 2>/dev/null; then
	not_ok "never User=undefined or an empty User="
else ok "never User=undefined or an empty User="; fi

if [ "$(id -u)" = 0 ]; then
	# A non-root caller with USER unset: named from its uid.
	chmod 0711 "$T"
	R3=$T/root3
	mkdir -p "$R3" && chown nobody "$R3"
	runuser -u nobody -- env -u USER -u LOGNAME -u HOME \
		"$BIN/wsctl" startup systemd --root "$R3" > "$T/r3.out" 2>&1
	rc=$?
	U3=$R3/etc/systemd/system/wsd-nobody.service
	if [ $rc -eq 0 ] && has "$U3" "User=nobody"; then
		ok "run by nobody with USER unset: User=nobody"
	else
		not_ok "run by nobody with USER unset: User=nobody" "status $rc" "$(cat "$T/r3.out")"
	fi

	# A uid without a passwd entry: refused, nothing written.
	R4=$T/root4
	mkdir -p "$R4" && chmod 0777 "$R4"
	setpriv --reuid=54321 --regid=54321 --clear-groups -- env -u USER \
		"$BIN/wsctl" startup systemd --root "$R4" > "$T/r4.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && grep -q "password database" "$T/r4.out" &&
	    [ -z "$(find "$R4" -type f)" ]; then
		ok "a uid without an account is refused (status $rc), nothing written"
	else
		not_ok "a uid without an account is refused" "status $rc" "$(cat "$T/r4.out")" \
		    "$(find "$R4" -type f)"
	fi
else
	note "not root: the runuser/setpriv cases are skipped"
fi

# Bad input.
R5=$T/root5
mkdir -p "$R5"
wsctl startup systemd --root "$R5" --user no-such-user-wsd >/dev/null 2>&1
rc=$?
if [ $rc -ne 0 ] && [ -z "$(find "$R5" -type f)" ]; then
	ok "an unknown --user is refused (status $rc)"
else not_ok "an unknown --user is refused" "status $rc"; fi
wsctl startup systemd --root "$R5" --user nobody --home "/srv/a b" >/dev/null 2>&1
rc=$?
check "a --home needing quotes is refused with 64" test "$rc" = 64
wsctl startup upstart --root "$R5" >/dev/null 2>&1
rc=$?
check "an unknown init system is refused with 64" test "$rc" = 64

# unstartup removes exactly what startup wrote, also the enable link that
# `systemctl --root=… enable` would make in an image.
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -s ../wsd-nobody.service "$R/etc/systemd/system/multi-user.target.wants/wsd-nobody.service"
wsctl unstartup systemd --root "$R" --user nobody > "$T/un.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ ! -e "$U" ] && [ ! -L "$R/etc/systemd/system/multi-user.target.wants/wsd-nobody.service" ]; then
	ok "unstartup removes the unit and its enable link"
else
	not_ok "unstartup removes the unit and its enable link" "status $rc" "$(cat "$T/un.out")"
fi
wsctl unstartup systemd --root "$R" --user nobody > "$T/un2.out" 2>&1
rc=$?
check "unstartup again: nothing to remove, status 0" \
	test "$rc" = 0 -a -n "$(grep 'nothing to remove' "$T/un2.out")"

# The SysV flavour: startup writes an executable script, unstartup removes it.
wsctl startup sysv --root "$R" --user nobody > "$T/sysv.out" 2>&1
S=$R/etc/init.d/wsd-nobody
check "startup sysv writes an executable $S" test -x "$S"
check "startup sysv prints the update-rc.d command" grep -q "update-rc.d wsd-nobody defaults" "$T/sysv.out"
check "the script runs as WSD_USER nobody" grep -qF 'WSD_USER=${WSD_USER:-nobody}' "$S"
check "the script is valid sh" sh -n "$S"
wsctl unstartup sysv --root "$R" --user nobody >/dev/null 2>&1
check "unstartup sysv removes it" test ! -e "$S"

finish
